#!/usr/bin/env bash
# minions chunks / minions retrieve on a real filing.
source "$(dirname "$0")/lib.sh"

PDF=$MN_SHARED_DIR/data/financebench/pdfs/3M_2018_10K.pdf
TXT=$T/3m.txt
pdftotext -enc UTF-8 "$PDF" "$TXT"

"$MN_BIN" chunks "$PDF" --chunk page --json >"$T/pages.json"; rc=$?
check "chunks --json exits 0" test "$rc" = 0
pages=$(pdfinfo "$PDF" | sed -n 's/^Pages: *//p')
check "page chunks: one per non-blank page, at most pdfinfo's $pages" \
  jq -e --argjson p "$pages" 'length > ($p * 0.9) and length <= $p' "$T/pages.json"
check "page chunks carry the contract fields and 0-based pages" \
  jq -e 'all(.[]; has("index") and has("doc") and has("page_start") and has("page_end") and has("chars") and has("text"))
    and .[0].page_start == 0 and ([.[].index] == [range(length)]) and all(.[]; .page_start == .page_end)' "$T/pages.json"
# page 5's chunk is page 5 of pdftotext's output (split on form feeds), trimmed
awk 'BEGIN{RS="\f"} NR==6' "$TXT" | tr -s ' \n' >"$T/p5.want"
jq -r '.[] | select(.page_start == 5) | .text' "$T/pages.json" | tr -s ' \n' >"$T/p5.got"
check "the chunk of page 5 holds page 5's text" bash -c "grep -qF \"\$(head -c 200 '$T/p5.got' | head -n 2 | tail -n 1)\" '$T/p5.want'"

"$MN_BIN" chunks "$PDF" --chunk-chars 1000 --json >"$T/sec.json"
check "section chunks are at most 1000 characters and in order" \
  jq -e 'all(.[]; .chars <= 1000 and .chars == (.text | length)) and ([.[].page_start] == ([.[].page_start] | sort))' "$T/sec.json"

Q="What is the FY2018 capital expenditure amount (in USD millions) for 3M? Give a response to the question by relying on the details shown in the cash flow statement."
"$MN_BIN" retrieve "$PDF" --query "$Q" --retrieval-k 10 --chunk-chars 1000 --json >"$T/ret.json"; rc=$?
check "retrieve returns k chunks best first with scores" \
  jq -e 'length == 10 and ([.[].score] == ([.[].score] | sort | reverse)) and all(.[]; has("score") and .chars <= 1000)' "$T/ret.json"
check "every retrieved chunk shares a content word with the query" \
  jq -e 'all(.[]; .text | ascii_downcase | test("capital|expenditure|cash|flow|statement|2018"))' "$T/ret.json"
check "retrieve's chunks are the same spans as chunks' (same chunker, same indexes)" \
  bash -c "jq -c '.[] | {index, text}' '$T/ret.json' | while read -r c; do i=\$(jq .index <<<\"\$c\");
    jq -e --argjson c \"\$c\" --argjson i \"\$i\" '.[\$i].text == \$c.text' '$T/sec.json' >/dev/null || exit 1; done"

"$MN_BIN" chunks "$PDF" --chunk nonsense >/dev/null 2>"$T/bad.err"; rc=$?
check "an unknown chunk method: exit 2, one line" bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/bad.err') = 1 ]"
"$MN_BIN" retrieve "$PDF" >/dev/null 2>"$T/noq.err"; rc=$?
check "retrieve without --query: exit 2" test "$rc" = 2

finish
