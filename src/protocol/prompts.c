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
