/* Every prompt the protocols send, in one place. */
#ifndef MN_PROTOCOL_PROMPTS_H
#define MN_PROTOCOL_PROMPTS_H

/* Baselines: the whole document plus the task to one model. */
extern const char MN_PROMPT_BASELINE_SYSTEM[];
/* printf format: %s documents, %s metadata line (may be ""), %s task */
extern const char MN_PROMPT_BASELINE_USER[];

/* Minion (chat). The supervisor never sees the documents. */
/* printf: %d max rounds, %s task, %s metadata line (may be "") */
extern const char MN_PROMPT_MINION_SUPERVISOR_START[];
/* printf: %s worker's answer */
extern const char MN_PROMPT_MINION_SUPERVISOR_REASON[];
extern const char MN_PROMPT_MINION_SUPERVISOR_DECIDE[];
/* printf: %s worker's answer (last round: no more questions) */
extern const char MN_PROMPT_MINION_SUPERVISOR_FINAL[];
/* printf: %s documents, %s task */
extern const char MN_PROMPT_MINION_WORKER_SYSTEM[];
extern const char MN_SCHEMA_MINION_START[];
extern const char MN_SCHEMA_MINION_DECISION[];

/* MinionS (decompose / execute / aggregate). */
/* printf: %s task, %s metadata line */
extern const char MN_PROMPT_MINIONS_ADVICE[];
/* The Lua job API as shown to the remote (no printf). */
extern const char MN_PROMPT_MINIONS_LUA_API[];
/* printf: %s task, %s documents summary, %s advice, %s lua api, %d tasks per
 * round, %d samples, %d max jobs, %s retrieval note, %s previous round */
extern const char MN_PROMPT_MINIONS_CODE[];
/* printf: %s task, %s documents summary, %s advice, %d tasks per round,
 * %s retrieval note, %s previous round */
extern const char MN_PROMPT_MINIONS_PLAN[];
extern const char MN_SCHEMA_MINIONS_PLAN[];
/* printf: %s error */
extern const char MN_PROMPT_MINIONS_CODE_RETRY[];
/* printf: %s feedback, %s scratchpad */
extern const char MN_PROMPT_MINIONS_PREVIOUS[];
/* printf: %d k */
extern const char MN_PROMPT_MINIONS_RETRIEVAL_BM25[];
extern const char MN_PROMPT_MINIONS_RETRIEVAL_EMBED[];
extern const char MN_PROMPT_MINIONS_RETRIEVAL_PLAN[];
/* Worker: system prompt, and printf user: %s chunk, %s task, %s advice */
extern const char MN_PROMPT_MINIONS_WORKER_SYSTEM[];
extern const char MN_PROMPT_MINIONS_WORKER_USER[];
extern const char MN_SCHEMA_MINIONS_JOB_OUTPUT[];
/* printf: %s outputs, %s task */
extern const char MN_PROMPT_MINIONS_SYNTH_REASON[];
extern const char MN_PROMPT_MINIONS_SYNTH_DECIDE[];
extern const char MN_PROMPT_MINIONS_SYNTH_FINAL[];
extern const char MN_SCHEMA_MINIONS_SYNTHESIS[];

/* Privacy shield: the local model lists person names. printf: %s text */
extern const char MN_PROMPT_PRIVACY_NAMES[];
extern const char MN_SCHEMA_PRIVACY_NAMES[];

/* The evaluation's judge: question, gold answer, answer (%s each). */
extern const char MN_PROMPT_EVAL_JUDGE[];
extern const char MN_SCHEMA_EVAL_JUDGE[];

#endif
