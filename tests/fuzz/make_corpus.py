#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/.

Reply and error-body seeds are the documented reply shapes of
tests/conformance/cases (as fakellm replays them); the rest are written
here. Each file is one input in the target's format (README.md); the names
are the seeds' content hashes, so running this again changes nothing
unless a seed changed. Keep the whole corpus small (well under 1 MB).

    python3 tests/fuzz/make_corpus.py [--pdf-text FILE]

--pdf-text: a few pages of real pdftotext output to seed the page and
section chunkers and the PDF target with (the committed seed came from
pages 3-5 of ../shared/data/financebench/pdfs/3M_2018_10K.pdf, cut).
"""
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "conformance", "cases")
OUT = os.path.join(HERE, "corpus")

WIRE = {"anthropic": "anthropic", "gemini": "gemini", "ollama": "ollama"}


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def text(v):
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def reply_bytes(case):
    """The bytes fakellm sends for a case (tests/conformance/run.sh)."""
    if "body" in case:
        return text(case["body"])
    if "sse" in case:
        out = []
        for ev in case["sse"]:
            if isinstance(ev, list):
                out.append("event: %s\ndata: %s\n\n" % (ev[0], text(ev[1])))
            elif isinstance(ev, str) and ev.startswith(":"):
                out.append(ev + "\n\n")
            else:
                out.append("data: %s\n\n" % text(ev))
        return "".join(out)
    return "".join(text(line) + "\n" for line in case["ndjson"])


def replies():
    for fn in sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, fn)) as f:
            fam = json.load(f)
        wire = WIRE.get(fam["family"], "openai")
        for case in fam["cases"]:
            b = reply_bytes(case).encode()
            status = case.get("status", 200)
            if status == 200:
                # option byte: 0 = whole text cap, streamed in one piece;
                # 0x7e = cut twice near the middle, small cap
                put("fuzz_reply_" + wire, b"\x00" + b)
                put("fuzz_reply_" + wire, b"\x7e" + b)
                if "sse" in case or "ndjson" in case:
                    put("fuzz_stream", (b"\x01" if "ndjson" in case else b"\x00") + b)
            else:
                put("fuzz_http", b"\x10" + b)   # key: the body's first 17 bytes
    # a prefilled Anthropic reply (the text continues the "{")
    put("fuzz_reply_anthropic", b"\x01" + json.dumps(
        {"type": "message", "role": "assistant", "content": [
            {"type": "text", "text": "\"answer\": \"42\"}"}],
         "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 4}}).encode())


def streams():
    put("fuzz_stream", b"\x00\xef\xbb\xbf: a comment\r\ndata: one\r\n\r\nevent: delta\ndata:two\n"
        b"data:  three \nid: 7\nretry: 1000\nunknown: x\n\ndata\r\revent: lonely\n\n"
        b"data: {\"x\":\"a:b\"}\r\ndata: [DONE]\r\n\r\ndata: unfinished\n")
    put("fuzz_stream", b"\x06data: a\rdata: b\r\n\r\n:\n\ndata:\n\n")
    put("fuzz_stream", b"\x01{\"a\":1}\r\n\n   \n\t\r\n{\"b\":2}\n{\"c\":3}")


def embeddings():
    vec = [0.0123, -0.5, 0.25, 1e-3, 3.0]
    put("fuzz_embed", b"\x01" + json.dumps({"model": "nomic-embed-text", "embeddings": [vec],
                                            "prompt_eval_count": 4}).encode())
    put("fuzz_embed", b"\x03" + json.dumps({"embeddings": [vec, vec[::-1]]}).encode())
    put("fuzz_embed", b"\x02" + json.dumps({"object": "list", "data": [
        {"object": "embedding", "index": 1, "embedding": vec},
        {"object": "embedding", "index": 0, "embedding": [0, 0, 0, 0, 1]}],
        "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}}).encode())
    put("fuzz_embed", b"\x00" + json.dumps({"error": {"message": "model not found"}}).encode())


def http():
    put("fuzz_http", b"\x05<html><head><title>502 Bad Gateway</title></head><body><center>"
        b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\r\n")
    put("fuzz_http", b"\x03Thu, 01 Jan 2037 00:00:00 GMT")
    put("fuzz_http", b"\x01 120 ")
    put("fuzz_http", b"\x08https://user:sk-secret@api.example.com:8443/v1/chat?key=AIza123456789#frag")
    put("fuzz_http", b"\x09{\"error\":{\"message\":\"Incorrect API key provided: sk-proj-abcdefghijkl."
        b"\\nYou can find your API key at https://platform.openai.com\",\"code\":\"invalid_api_key\"}}")
    put("fuzz_http", b"\x02[{\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":"
        b"\"RESOURCE_EXHAUSTED\"}}]")


def lenient():
    seeds = [
        'Sure! Here is the JSON:\n```json\n{"explanation": "Page 3 says so.", "citation": "revenue '
        'grew 4%", "answer": "4%"}\n```\nLet me know if you need more.',
        "{'explanation': 'not found', 'citation': None, 'answer': None,}",
        '{explanation: "bare keys", answer: True, "n": [1, 2, 3,], "x": -1.5e3}',
        '\u201cdecision\u201d is below: {\u201cdecision\u201d: \u201cprovide_final_answer\u201d, '
        '\u201canswer\u201d: \u201c$1,577 million\u201d}',
        '{"answer": "he said "yes" to it", "citation": "line\twith tab\nand newline"}',
        '{"a": {"b": {"c": [{"d": null}]}}, "e": "\\u00e9\\ud83d\\ude00"}',
        'first {"answer": "old"} then {"answer": "new", "citation": "later"}',
        '{"decision": "request_additional_info", "feedback": "look at note 7", "scratchpad": "cut off',
        '{"k": "\xff\xfe bytes", "big": 10583536942961263000, "deep": [[[[[]]]]]}',
        "[" * 70 + "{}",
    ]
    for s in seeds:
        put("fuzz_json_lenient", s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s)
    put("fuzz_json_lenient", b'{"k\\u0000ey": 1, "v": "a\x00b"}')


def utf8():
    put("fuzz_utf8", "plain ASCII text\n")
    put("fuzz_utf8", "\ufeffcaf\u00e9 \u20ac 10 \u2014 \u4e2d\u6587\u3002 \U0001f600\n")
    put("fuzz_utf8", b"overlong \xc0\xaf \xe0\x80\xaf surrogate \xed\xa0\x80 big \xf4\x90\x80\x80"
        b" cut \xe2\x82 end \xf0\x9f")
    put("fuzz_utf8", b"nul\x00inside\x00 and \x80\xbf stray \xfe\xff")


def chunk_header(method, max_chars, overlap=0, lang=0, cap=0):
    b0 = method | (0x10 | (cap - 1) << 5 if cap else 0)
    return bytes([b0]) + struct.pack(">H", max_chars) + bytes([0x80 | overlap if overlap else 0, lang])


PROSE = ("The Company's revenue grew 4% in 2018. Net income was $5.3 billion! Was it? "
         "U.S. sales rose (see Note 7). J. Smith signed.\nA new line here.\n\n"
         "Second paragraph: capital expenditures were $1,577 million.\n"
         "\u7b2c\u4e00\u53e5\u3002\u7b2c\u4e8c\u53e5\uff01\u7b2c\u4e09\u53e5\uff1f \u201cQuoted.\u201d Done.\n")


def chunks(pdf_text):
    put("fuzz_chunk", chunk_header(0, 40) + PROSE.encode())
    put("fuzz_chunk", chunk_header(0, 60, overlap=12) + PROSE.encode())
    put("fuzz_chunk", chunk_header(2, 80) + PROSE.encode())
    put("fuzz_chunk", chunk_header(1, 0) + b"page one\n\x0cpage two \xe2\x82\xac\n\x0c\x0cpage four")
    put("fuzz_chunk", chunk_header(1, 30) + b"Intro\nPage 1 of 3\nfirst\n- 2 -\nsecond\n[Page 3]\nthird\n"
        b"--- Page 4 ---\n")
    put("fuzz_chunk", chunk_header(0, 7) + b"ab\n\x80\x80cd\xe2\x82\xac\n\x0c\xbfef gh. Ij\xf0\x9f\x98")
    put("fuzz_chunk", chunk_header(2, 5, cap=3) + b"a\n\n\x80b\n\n\n c  d e f g h\n\nlast")
    put("fuzz_chunk", chunk_header(3, 120, lang=3) + PY.encode())
    put("fuzz_chunk", chunk_header(3, 0, lang=1) + C.encode())
    if pdf_text:
        put("fuzz_chunk", chunk_header(1, 400) + pdf_text)
        put("fuzz_chunk", chunk_header(0, 300, overlap=30) + pdf_text)


C = """#include <stdio.h>
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* a comment with a } brace */
static const char *s = "a { string";
struct point { int x, y; };
int add(int a, int b)
{
  return a + b; // '}'
}
namespace ns { void f() { if (1) { g(); } } }
extern "C" { int h(void); }
"""

PY = '''import os
from typing import List

@decorator
def first(x: int) -> int:
    """Docstring with def inside: def nope():"""
    return (x +
            1)

class Thing(object):
    def method(self):
        s = \'\'\'triple
def not_a_def(): pass\'\'\'
        return s \\
            + "x"

async def later():
    await thing()
'''

JS = """import { a } from './a.js';
export function f(x) { return `tmpl ${x} }`; }
const re = /}{/g;
class K { m() { return {a: 1}; } }
export const g = (y) => { return y * 2; };
"""

TS = """export interface P { name: string; n: number }
export type Q = { a: boolean };
namespace N { export function z(): void {} }
declare module "m" { const v: string; }
"""

GO = """package main

import "fmt"

type T struct { A int }

func (t *T) M() string { return fmt.Sprintf("%d}", t.A) }

func main() { fmt.Println("{") }
"""

RUST = """use std::io::{self, Read};
pub mod inner { pub fn f() -> u8 { b'}' } }
impl<T> Foo<T> { fn new() -> Self { Self {} } }
fn main() { let s = r#"raw { string"#; println!("{}", s); }
"""

JAVA = """package x;
import java.util.List;
public class Main {
  public static void main(String[] args) { System.out.println("}"); }
}
"""


def code():
    for i, src in enumerate([C, PY, JS, TS, GO, RUST, JAVA]):
        put("fuzz_code", bytes([i]) + src.encode())
    put("fuzz_code", b"\x03def f():\n    return 1\n\n\x80\x80def g():\n  pass\n}\n\xb3")


def pdf(pdf_text):
    def inp(opt, stderr, stdout):
        return bytes([opt]) + struct.pack(">H", len(stderr)) + stderr + stdout
    err = (b"Syntax Warning: May not be a PDF file (continuing anyway)\n"
           b"Syntax Error: Couldn't find trailer dictionary\n"
           b"Syntax Error: Couldn't read xref table\n")
    put("fuzz_pdf", inp(0, err, b"Page one text.\n\x0cPage two text.\n\x0c"))
    put("fuzz_pdf", inp(0x91, b"I/O Error: Couldn't open file 'x.pdf': No such file or directory.\r\n",
                        b"Revenue 2018\n\x0cCapital expenditures $1,577 million\n\x0c"))
    put("fuzz_pdf", inp(0x03, b"\n\n  \n", b"\xef\xbb\xbfBOM text with a nul\x00 and \xff bad byte"))
    if pdf_text:
        put("fuzz_pdf", inp(0xa5, b"Syntax Warning: Invalid Font Weight\n", pdf_text))


def patterns():
    # op: bits 0-1 find/match/gmatch/gsub, 2-4 start choice, 5-6 replacement
    # kind; cnt: bits 2-3 plain flag (3: absent), 4 has count, 5-7 count + 2
    def inp(op, cnt, pat, repl, subj):
        pat, repl, subj = (x.encode("latin-1") if isinstance(x, str) else x
                           for x in (pat, repl, subj))
        return bytes([op, cnt, len(pat)]) + pat + bytes([len(repl)]) + repl + subj
    subj = "key = value; (nested (parens)) THE end\0nul x1 x22 caf\xc3\xa9 [a] %"
    pats = ["%z", "[%z]", "[%Z]+", "[^%z]+", "%w+", "(%w+) = (%w+)", "%b()", "%f[%w]%w+",
            "()x(%d+)()", "(a*(.)%2)", "[%a%d_]+", "[]]", "[^]a]", "[a-]", "%s*$", "^(%u+)",
            ".-%)", "[%]]", "%%", "(x)%1", "[\0-\x1f]", "caf.", "\xc3[\x80-\xbf]", "[", "%",
            "(()", "%g+", "[%p%c]", "^", "$", "a?b?c?", "%1", "%f[%z]", "[%z%s]"]
    for i, p in enumerate(pats):
        op = i % 4 | (i % 8) << 2 & 0x1c | (i % 4) << 5
        put("fuzz_pattern", inp(op, (i * 37) & 0xff, p, "<%1>" if i % 3 else "%0%%", subj))
    put("fuzz_pattern", inp(3, 0x0c, "(%w+)", "%2", "hello world"))
    put("fuzz_pattern", inp(0, 0x04, "a.b", "", "xxa.bxx"))
    put("fuzz_pattern", inp(0, 0, "a?" * 12 + "a" * 12, "", "a" * 12))


def found():
    """Inputs that once broke an invariant (each fixed, with a unit test)."""
    put("fuzz_chunk", b"\x0a\x0a\x05\x0a\x13\n\xb2")               # paragraph at a stray byte
    put("fuzz_code", b"yclass y\n\n\xb3")                           # piece at a stray byte
    put("fuzz_reply_gemini", b'#"\xe8\xd6\xa9\xff\xff\xff\xf2\\\xd1\x8a\x17=\xdc3')  # half a character
    put("fuzz_reply_openai", b'\x00{"choices": [{"message": {"content": "\\u12\nx"}}]}')  # line break
    put("fuzz_http", b"\x00x marks the spot: xx")                     # a one-byte key
    put("fuzz_pattern", b"\x00\x00\x02%z\x00a\x00b")                   # %z


def main():
    pdf_text = None
    if len(sys.argv) == 3 and sys.argv[1] == "--pdf-text":
        with open(sys.argv[2], "rb") as f:
            pdf_text = f.read()[:3000]
    elif os.path.exists(os.path.join(OUT, "pdf_text.seed")):
        with open(os.path.join(OUT, "pdf_text.seed"), "rb") as f:
            pdf_text = f.read()
    if pdf_text:
        os.makedirs(OUT, exist_ok=True)
        with open(os.path.join(OUT, "pdf_text.seed"), "wb") as f:
            f.write(pdf_text)
    replies()
    streams()
    embeddings()
    http()
    lenient()
    utf8()
    chunks(pdf_text)
    code()
    pdf(pdf_text)
    patterns()
    found()


if __name__ == "__main__":
    main()
