/* Every prompt the protocols send, in one place. */
#ifndef MN_PROTOCOL_PROMPTS_H
#define MN_PROTOCOL_PROMPTS_H

/* Baselines: the whole document plus the task to one model. */
extern const char MN_PROMPT_BASELINE_SYSTEM[];
/* printf format: %s documents, %s metadata line (may be ""), %s task */
extern const char MN_PROMPT_BASELINE_USER[];

#endif
