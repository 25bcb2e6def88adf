#include "protocol/prompts.h"

const char MN_PROMPT_BASELINE_SYSTEM[] =
  "You are an expert analyst. You answer questions about documents accurately, "
  "using only what the documents say, and you say so when they do not contain "
  "the answer.";

const char MN_PROMPT_BASELINE_USER[] =
  "Here are the documents.%s\n\n"
  "<documents>\n%s\n</documents>\n\n"
  "Task: %s\n\n"
  "Work through the relevant parts of the documents, then end with the final "
  "answer on its own line, starting with \"Answer:\".";

/* ---- Minion ---------------------------------------------------------------- */

const char MN_PROMPT_MINION_SUPERVISOR_START[] =
  "You are the supervisor in a collaboration between two language models. "
  "You must solve the task below, but you cannot see the documents it is "
  "about. A small language model, the worker, has the documents in full and "
  "will answer your questions about them. The worker reads well but reasons "
  "poorly: ask it one simple, specific question at a time, about facts it "
  "can look up or quote, never for multi-step reasoning. You will have up to "
  "%d exchanges with it before you must answer.\n\n"
  "Task: %s%s\n\n"
  "Write your first message to the worker. Reply with a JSON object only:\n"
  "{\"reasoning\": \"what you need to know and why\", "
  "\"message\": \"your question to the worker\"}";

const char MN_PROMPT_MINION_SUPERVISOR_REASON[] =
  "The worker replied:\n\n%s\n\n"
  "Think step by step about this reply: what it tells you, whether you can "
  "trust it, and whether you now know enough to solve the task or what "
  "single question would get you closer. Do not write JSON yet.";

const char MN_PROMPT_MINION_SUPERVISOR_DECIDE[] =
  "Now decide. Reply with a JSON object only:\n"
  "{\"decision\": \"provide_final_answer\" or \"request_additional_info\", "
  "\"answer\": \"the final answer to the task, or null\", "
  "\"message\": \"your next question to the worker, or null\"}";

const char MN_PROMPT_MINION_SUPERVISOR_FINAL[] =
  "The worker replied:\n\n%s\n\n"
  "This was the last exchange: you must now answer the task with what you "
  "have, saying what remains uncertain if anything. Think it through, then "
  "reply with a JSON object only:\n"
  "{\"decision\": \"provide_final_answer\", \"answer\": \"the final answer\", "
  "\"message\": null}";

const char MN_PROMPT_MINION_WORKER_SYSTEM[] =
  "You are a careful assistant who answers questions about the documents "
  "below. Another model, which cannot see them, will ask you questions to "
  "solve a task. Answer each question from the documents only, quoting the "
  "relevant passages and numbers exactly; if the documents do not say, say "
  "so plainly.\n\n"
  "<documents>\n%s\n</documents>\n\n"
  "The task the other model is solving: %s";

const char MN_SCHEMA_MINION_START[] =
  "{\"type\":\"object\",\"properties\":{"
  "\"reasoning\":{\"type\":\"string\"},"
  "\"message\":{\"type\":\"string\"}},"
  "\"required\":[\"reasoning\",\"message\"],\"additionalProperties\":false}";

const char MN_SCHEMA_MINION_DECISION[] =
  "{\"type\":\"object\",\"properties\":{"
  "\"decision\":{\"type\":\"string\",\"enum\":[\"provide_final_answer\",\"request_additional_info\"]},"
  "\"answer\":{\"type\":[\"string\",\"null\"]},"
  "\"message\":{\"type\":[\"string\",\"null\"]}},"
  "\"required\":[\"decision\",\"answer\",\"message\"],\"additionalProperties\":false}";

/* ---- MinionS ----------------------------------------------------------------- */

const char MN_PROMPT_MINIONS_ADVICE[] =
  "You will direct a small language model that can read some documents you "
  "cannot see. It will read them in small chunks and follow simple, "
  "single-step instructions on each chunk.\n\n"
  "Task: %s%s\n\n"
  "Before any chunk is read, write short advice (a few sentences, no JSON, no "
  "code) for the small model: what to look for, which terms, sections, "
  "tables or numbers matter, and what to ignore.";

const char MN_PROMPT_MINIONS_LUA_API[] =
  "function prepare_jobs(context, prev_jobs)\n"
  "  -- context: array of the documents' texts (strings), in order\n"
  "  -- prev_jobs: nil in the first round; afterwards an array of the previous\n"
  "  --   round's jobs, tables with the fields task, advice, chunk, chunk_id,\n"
  "  --   task_id, job_id, answer, explanation, citation\n"
  "  --   (answer == nil means the small model found nothing in that chunk)\n"
  "  -- returns: an array of jobs, tables {task = string, chunk = string,\n"
  "  --   advice = string or nil}\n"
  "end\n"
  "-- optional: function transform_outputs(jobs) return \"text\" end\n"
  "--   jobs as in prev_jobs, with this round's answers; the string it returns\n"
  "--   replaces the default listing of the outputs that you will be shown\n\n"
  "Functions you can call (they return arrays of strings):\n"
  "  chunk_by_section(doc, max_chars, overlap)  fixed-size pieces, cut at line\n"
  "                                             or sentence ends when possible\n"
  "  chunk_by_page(doc)                         one piece per page\n"
  "  chunk_by_paragraph(doc, max_chars)         paragraphs packed up to max_chars\n"
  "  chunk_by_code(doc)                         top-level functions and classes\n"
  "  bm25_top_k(query, chunks, k)               the k chunks that best match the\n"
  "                                             query (a string, or an array of\n"
  "                                             keywords, or of {keyword, weight}\n"
  "                                             pairs), in document order\n"
  "Only the string, table, math and utf8 libraries and the basic functions\n"
  "(pairs, ipairs, tostring, ...) exist: no io, os, require or load.";

const char MN_PROMPT_MINIONS_CODE[] =
  "You must solve a task about documents you cannot read. A small language "
  "model can read them, one chunk at a time, following a simple single-step "
  "instruction per chunk, and it answers from that chunk only or abstains. "
  "Write a Lua 5.4 program that prepares these jobs: it cuts the documents "
  "into chunks and pairs chunks with instructions. It runs next to the "
  "documents, so a few lines can produce hundreds of jobs.\n\n"
  "Task: %s\n\n"
  "Documents: %s\n\n"
  "Advice for the small model: %s\n\n"
  "The program must define:\n\n```lua\n%s\n```\n\n"
  "Guidelines: write about %d distinct instructions, each simple enough for a "
  "small model and answerable from one chunk; each job runs %d time(s); at most "
  "%d jobs in all; chunks of 1,000 to 5,000 characters work best; put what "
  "the small model needs to know in the instruction or the advice, since it "
  "sees nothing else.%s%s\n\n"
  "Reply with the whole program in one ```lua code block.";

const char MN_PROMPT_MINIONS_PLAN[] =
  "You must solve a task about documents you cannot read. A small language "
  "model can read them, one chunk at a time, following a simple single-step "
  "instruction per chunk, and it answers from that chunk only or abstains. "
  "Plan its jobs: every instruction you write is run on every chunk.\n\n"
  "Task: %s\n\n"
  "Documents: %s\n\n"
  "Advice for the small model: %s\n\n"
  "Write about %d distinct instructions, each simple enough for a small model "
  "and answerable from one chunk, and choose how to chunk: method \"section\" "
  "(fixed size), \"page\", \"paragraph\" or \"code\", with max_chars (1,000 to "
  "5,000 works best).%s%s\n\n"
  "Reply with a JSON object only:\n"
  "{\"tasks\": [{\"task\": \"instruction\", \"advice\": \"hint\"}], "
  "\"chunking\": {\"method\": \"section\", \"max_chars\": 3000}, "
  "\"retrieval\": {\"query\": \"keywords\", \"k\": 10} or null}";

const char MN_SCHEMA_MINIONS_PLAN[] =
  "{\"type\":\"object\",\"properties\":{"
  "\"tasks\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
  "\"task\":{\"type\":\"string\"},\"advice\":{\"type\":\"string\"}},"
  "\"required\":[\"task\",\"advice\"],\"additionalProperties\":false}},"
  "\"chunking\":{\"type\":\"object\",\"properties\":{"
  "\"method\":{\"type\":\"string\",\"enum\":[\"section\",\"page\",\"paragraph\",\"code\"]},"
  "\"max_chars\":{\"type\":\"integer\"}},"
  "\"required\":[\"method\",\"max_chars\"],\"additionalProperties\":false},"
  "\"retrieval\":{\"type\":[\"object\",\"null\"],\"properties\":{"
  "\"query\":{\"type\":\"string\"},\"k\":{\"type\":\"integer\"}},"
  "\"required\":[\"query\",\"k\"],\"additionalProperties\":false}},"
  "\"required\":[\"tasks\",\"chunking\",\"retrieval\"],\"additionalProperties\":false}";

const char MN_PROMPT_MINIONS_CODE_RETRY[] =
  "Your program could not be used: %s\n\n"
  "Fix it and reply with the whole corrected program in one ```lua code block.";

const char MN_PROMPT_MINIONS_PREVIOUS[] =
  "\n\nThis is a new round. prev_jobs holds the last round's jobs and answers. "
  "Your feedback after the last round: %s\nYour scratchpad (what you know so "
  "far): %s\nTarget what is still missing; do not repeat jobs that already "
  "answered.";

const char MN_PROMPT_MINIONS_RETRIEVAL_BM25[] =
  "\n\nRetrieval is on: to keep the small model on relevant text, select "
  "chunks with bm25_top_k(keywords, chunks, k) before making jobs, with "
  "specific keywords (names, terms, line items that would appear in the "
  "text) and k around %d.";

const char MN_PROMPT_MINIONS_RETRIEVAL_EMBED[] =
  "\n\nRetrieval is on: after your program runs, each instruction keeps only "
  "the %d chunks most similar in meaning to it, so write instructions that "
  "say what the relevant text is about.";

const char MN_PROMPT_MINIONS_RETRIEVAL_PLAN[] =
  "\n\nRetrieval is on: give \"retrieval\" a query of specific keywords that "
  "would appear in the relevant text and k (about %d); only the k best "
  "matching chunks will be read.";

const char MN_PROMPT_MINIONS_WORKER_SYSTEM[] =
  "You read one excerpt of a document and follow one instruction about it. "
  "Use only the excerpt. If it does not contain what the instruction asks "
  "for, set answer to null; do not guess. Reply with a JSON object: "
  "{\"explanation\": \"how the excerpt answers the instruction, briefly\", "
  "\"citation\": \"the exact words of the excerpt that support the answer, "
  "or null\", \"answer\": \"the answer, or null\"}.";

/* the excerpt is %.*s: a chunk may be a piece of a document, not a C string */
const char MN_PROMPT_MINIONS_WORKER_USER[] =
  "<excerpt>\n%.*s\n</excerpt>\n\n"
  "Instruction: %s\n\n"
  "Advice: %s";

const char MN_SCHEMA_MINIONS_JOB_OUTPUT[] =
  "{\"type\":\"object\",\"properties\":{"
  "\"explanation\":{\"type\":\"string\"},"
  "\"citation\":{\"type\":[\"string\",\"null\"]},"
  "\"answer\":{\"type\":[\"string\",\"null\"]}},"
  "\"required\":[\"explanation\",\"citation\",\"answer\"],\"additionalProperties\":false}";

const char MN_PROMPT_MINIONS_SYNTH_REASON[] =
  "Here is what the small model found, grouped by instruction and chunk "
  "(chunks where it found nothing are left out):\n\n%s\n\n"
  "The task: %s\n\n"
  "Think step by step: which findings are relevant and trustworthy (check "
  "the citations), whether they are enough to solve the task, and what is "
  "missing or contradictory. Do not write JSON yet.";

const char MN_PROMPT_MINIONS_SYNTH_DECIDE[] =
  "Now decide. Reply with a JSON object only:\n"
  "{\"decision\": \"provide_final_answer\" or \"request_additional_info\", "
  "\"explanation\": \"why\", "
  "\"answer\": \"the final answer to the task, or null\", "
  "\"feedback\": \"if more is needed: what the next round's jobs should look "
  "for and where, or null\", "
  "\"scratchpad\": \"what you have established so far, to carry into the "
  "next round\"}";

const char MN_PROMPT_MINIONS_SYNTH_FINAL[] =
  "This was the last round: you must answer the task now with what you have, "
  "saying what remains uncertain if anything. Reply with a JSON object only:\n"
  "{\"decision\": \"provide_final_answer\", \"explanation\": \"why\", "
  "\"answer\": \"the final answer\", \"feedback\": null, "
  "\"scratchpad\": \"what you established\"}";

const char MN_SCHEMA_MINIONS_SYNTHESIS[] =
  "{\"type\":\"object\",\"properties\":{"
  "\"decision\":{\"type\":\"string\",\"enum\":[\"provide_final_answer\",\"request_additional_info\"]},"
  "\"explanation\":{\"type\":\"string\"},"
  "\"answer\":{\"type\":[\"string\",\"null\"]},"
  "\"feedback\":{\"type\":[\"string\",\"null\"]},"
  "\"scratchpad\":{\"type\":[\"string\",\"null\"]}},"
  "\"required\":[\"decision\",\"explanation\",\"answer\",\"feedback\",\"scratchpad\"],"
  "\"additionalProperties\":false}";

/* ---- privacy shield -------------------------------------------------------- */

const char MN_PROMPT_PRIVACY_NAMES[] =
  "List the name of every person mentioned in the text below: patients, doctors, "
  "relatives, anyone. Copy each name exactly as it is written, the fullest form "
  "the text gives (\"Maria L. Gonzalez\", not \"Maria\"), one entry per person. "
  "Leave out organisations, places, products, drugs, diseases and placeholders "
  "such as [PERSON_1].\n"
  "Reply with only a JSON object: {\"names\": [\"...\", \"...\"]}, or "
  "{\"names\": []} if there are none.\n\n"
  "Text:\n<<<\n%s\n>>>";

const char MN_SCHEMA_PRIVACY_NAMES[] =
  "{\"type\":\"object\",\"properties\":{\"names\":{\"type\":\"array\","
  "\"items\":{\"type\":\"string\"}}},\"required\":[\"names\"],"
  "\"additionalProperties\":false}";

/* The evaluation's LLM judge (src/eval/judge.c): as the paper grades
 * FinanceBench, a model compares the answer with the gold answer. Filled
 * with the question, the gold answer and the answer. */
const char MN_PROMPT_EVAL_JUDGE[] =
  "You are grading an answer to a question about financial documents.\n\n"
  "Question: %s\n\n"
  "Gold answer (correct): %s\n\n"
  "Answer to grade: %s\n\n"
  "The answer is correct when it states the same facts or figures as the gold "
  "answer (figures may be rounded or written in other units, e.g. $1.2 billion "
  "= $1,200 million) and does not contradict it; extra explanation is fine. "
  "An answer that says it cannot find the information is incorrect.\n"
  "Reply with a JSON object only: {\"correct\": true or false, \"reason\": "
  "\"one sentence\"}";

const char MN_SCHEMA_EVAL_JUDGE[] =
  "{\"type\":\"object\",\"properties\":{\"correct\":{\"type\":\"boolean\"},"
  "\"reason\":{\"type\":\"string\"}},\"required\":[\"correct\",\"reason\"],"
  "\"additionalProperties\":false}";
