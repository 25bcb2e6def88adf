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

#endif
