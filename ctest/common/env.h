/*
 * env.h - read the server environment written by ctest/harness/servers.sh.
 *
 * The harness writes KEY=VALUE lines to $ISULA_CTEST_DIR/env (ports, paths,
 * certificate directory ...). ISULA_CTEST_DIR is set by CTest on every test;
 * it is the only environment variable the tests look at.
 */
#ifndef ISULA_CTEST_ENV_H
#define ISULA_CTEST_ENV_H

/* Load $ISULA_CTEST_DIR/env. Returns 0, or -1 after printing why. */
int ctest_env_load(void);

/* Value of KEY, or NULL when the key is missing (or the file is not loaded). */
const char *ctest_env(const char *key);

/* Like ctest_env() but prints a diagnostic and returns "" when KEY is missing/empty. */
const char *ctest_env_req(const char *key);

/* Free everything ctest_env_load() allocated. */
void ctest_env_free(void);

#endif
