/*
 * pull: pull an image into the isula-registry embedded store (an OCI image
 * layout) and show its progress, the way `docker pull` does.
 *
 *   pull [--root DIR] [--platform OS/ARCH[/VARIANT]] [--insecure]
 *        [--skip-tls-verify] [--user USER[:PASS]]
 *        [--progress auto|tty|plain|json|quiet] IMAGE [NAME]
 *
 * IMAGE is a full reference with its registry, e.g. 127.0.0.1:5000/test/x:v1;
 * NAME is what the store calls it (default: IMAGE). Ctrl-C cancels cleanly.
 * Written against include/ only, as any user of the library would.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isula_registry.h"
#include "registry.h"

/* The running pull, for the signal handler. */
static isula_registry_pull *volatile g_pull;
static volatile sig_atomic_t g_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    g_interrupted = 1;
    if (g_pull != NULL) {
        isula_registry_pull_cancel(g_pull);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pull [--root DIR] [--platform OS/ARCH[/VARIANT]] [--insecure] [--skip-tls-verify]\n"
            "            [--certs-dir DIR] [--proxy URL [--no-proxy HOSTS]] [--user USER[:PASS]]\n"
            "            [--progress auto|tty|plain|json|quiet]\n"
            "            IMAGE [NAME]\n"
            "       pull --version\n");
}

static bool parse_mode(const char *s, isula_registry_progress_mode *mode)
{
    static const struct {
        const char *name;
        isula_registry_progress_mode mode;
    } modes[] = {
        { "auto", ISULA_REGISTRY_PROGRESS_AUTO },   { "tty", ISULA_REGISTRY_PROGRESS_TTY },
        { "plain", ISULA_REGISTRY_PROGRESS_PLAIN }, { "json", ISULA_REGISTRY_PROGRESS_JSON },
        { "quiet", ISULA_REGISTRY_PROGRESS_QUIET },
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(s, modes[i].name) == 0) {
            *mode = modes[i].mode;
            return true;
        }
    }
    return false;
}

/* Writes a rendered frame and frees it. */
static void show(char *text)
{
    if (text != NULL) {
        fputs(text, stdout);
        fflush(stdout);
        free(text);
    }
}

int main(int argc, char **argv)
{
    const char *root = NULL;
    const char *platform = NULL;
    const char *certs_dir = NULL;
    const char *proxy = NULL;    /* default: https_proxy/http_proxy/no_proxy as libcurl reads them */
    const char *no_proxy = NULL;
    char *user = NULL;
    char *password = NULL;
    char *typed = NULL; /* a password read from standard input */
    const char *image = NULL;
    const char *name = NULL;
    bool insecure = false;
    bool skip_tls_verify = false;
    isula_registry_progress_mode mode = ISULA_REGISTRY_PROGRESS_AUTO;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--root") == 0 && has_value) {
            root = argv[++i];
        } else if (strcmp(a, "--platform") == 0 && has_value) {
            platform = argv[++i];
        } else if (strcmp(a, "--certs-dir") == 0 && has_value) {
            certs_dir = argv[++i];
        } else if (strcmp(a, "--proxy") == 0 && has_value) {
            proxy = argv[++i];
        } else if (strcmp(a, "--no-proxy") == 0 && has_value) {
            no_proxy = argv[++i];
        } else if (strcmp(a, "--version") == 0) {
            /* the loaded library's version, and the headers' it was built with */
            printf("pull: isula-registry %s (built with headers %s)\n", isula_registry_version(),
                   ISULA_REGISTRY_VERSION);
            free(user);
            return 0;
        } else if (strcmp(a, "--insecure") == 0) {
            insecure = true;
        } else if (strcmp(a, "--skip-tls-verify") == 0) {
            skip_tls_verify = true;
        } else if (strcmp(a, "--user") == 0 && has_value) {
            free(user);
            user = strdup(argv[++i]);
            char *colon = user != NULL ? strchr(user, ':') : NULL;
            if (colon != NULL) {
                *colon = '\0';
                password = colon + 1;
            }
        } else if (strcmp(a, "--progress") == 0 && has_value) {
            if (!parse_mode(argv[++i], &mode)) {
                fprintf(stderr, "pull: unknown progress mode %s\n", argv[i]);
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "pull: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (image == NULL) {
            image = a;
        } else if (name == NULL) {
            name = a;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (image == NULL) {
        usage(stderr);
        free(user);
        free(typed);
        return 2;
    }
    if (user != NULL && password == NULL) {
        /* --user USER: the password is the first line of standard input */
        size_t cap = 0;
        fprintf(stderr, "Password: ");
        ssize_t n = getline(&typed, &cap, stdin);
        if (n <= 0) {
            fprintf(stderr, "\npull: no password given\n");
            free(typed);
            free(user);
            return 2;
        }
        typed[strcspn(typed, "\r\n")] = '\0';
        password = typed;
    }

    if (certs_dir != NULL && registry_init(NULL, (char *)certs_dir) != 0) {
        fprintf(stderr, "pull: cannot use certificates directory %s\n", certs_dir);
        free(user);
        free(typed);
        return 1;
    }
    if (no_proxy != NULL && proxy == NULL) {
        fprintf(stderr, "pull: --no-proxy goes with --proxy (else set no_proxy in the environment)\n");
        free(user);
        free(typed);
        return 2;
    }
    if (proxy != NULL && isula_registry_set_proxy(proxy, no_proxy) != 0) {
        fprintf(stderr, "pull: %s\n", isula_registry_last_error());
        free(user);
        free(typed);
        return 2;
    }
    if (root != NULL && isula_registry_set_root(root) != 0) {
        fprintf(stderr, "pull: %s\n", isula_registry_last_error());
        free(user);
        free(typed);
        return 1;
    }
    if (platform != NULL && isula_registry_set_platform(platform) != 0) {
        fprintf(stderr, "pull: %s\n", isula_registry_last_error());
        free(user);
        free(typed);
        return 2;
    }

    registry_pull_options options;
    memset(&options, 0, sizeof(options));
    options.image_name = (char *)image;
    options.dest_image_name = (char *)(name != NULL ? name : image);
    options.auth.username = user;
    options.auth.password = password;
    options.insecure_registry = insecure;
    options.skip_tls_verify = skip_tls_verify;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    isula_registry_renderer *renderer = isula_registry_renderer_new(mode, STDOUT_FILENO);
    isula_registry_pull *pull = isula_registry_pull_start(&options);
    if (pull == NULL || renderer == NULL) {
        const char *err = isula_registry_last_error();
        fprintf(stderr, "pull: %s\n", err != NULL ? err : "cannot start the pull");
        isula_registry_renderer_free(renderer);
        free(user);
        free(typed);
        return 1;
    }
    g_pull = pull;
    if (g_interrupted) {
        isula_registry_pull_cancel(pull);
    }

    /* Redraw ten times a second; the size is read again each time, so a
     * resized terminal is followed. With the height the block never
     * outgrows the screen (finished layers fold into one line), so the
     * scrollback holds no copies of it. */
    bool ended;
    do {
        ended = isula_registry_pull_wait(pull, 100);
        show(isula_registry_render(renderer, pull, isula_registry_terminal_width(STDOUT_FILENO),
                                   isula_registry_terminal_height(STDOUT_FILENO)));
    } while (!ended);

    int status = isula_registry_pull_result(pull);
    if (status != 0 && mode == ISULA_REGISTRY_PROGRESS_QUIET) {
        /* the other modes already showed the error with the progress */
        const char *err = isula_registry_pull_error(pull);
        fprintf(stderr, "pull: %s\n", err != NULL ? err : "failed");
    }
    g_pull = NULL;
    isula_registry_pull_free(pull);
    isula_registry_renderer_free(renderer);
    free(user);
    free(typed);
    if (status != 0) {
        return g_interrupted ? 130 : 1;
    }
    return 0;
}
