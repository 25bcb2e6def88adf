/* Running the sandbox in its own process: the library's side.
 *
 * mn_sandbox_prepare_jobs and mn_sandbox_transform_outputs (sandbox.h)
 * start the helper program minions-sandbox for each call, with an empty
 * environment and no descriptor but a socket, send it the program, the
 * documents and the previous jobs, and read back the jobs or the output.
 * The helper confines itself before it reads anything (helper/confine.c:
 * rlimits, and on Linux a seccomp filter allowing little more than reading
 * and writing that socket and managing memory), so a program that broke
 * out of the Lua layer still finds no key, no file and no network. The
 * helper is killed at the wall deadline; everything it sends is checked
 * here again (sizes, counts, UTF-8) as hostile input.
 */
#ifndef MN_SANDBOX_ISOLATE_H
#define MN_SANDBOX_ISOLATE_H

/* The helper's path (free it), or NULL with *tried (free it; may be NULL)
 * saying where it was looked for. See locate.c for the order. */
char *mn_sandbox_helper_path(char **tried);

#endif
