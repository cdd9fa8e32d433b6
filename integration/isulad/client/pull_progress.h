/*
 * pull_progress.h - what a container engine's pull client needs to draw the
 * per-layer frames its daemon streams (id, bytes so far, total bytes) with
 * isula-registry's feed and renderers: bars on a terminal, plain lines in a
 * pipe or on a terminal without a usable TERM, Docker's JSON messages, or
 * nothing. Plain C arguments only, so any client can call it; iSulad's `isula
 * pull` calls it for every `image_progress` frame (integration/isulad/README.md).
 *
 * Text goes to the file descriptor given at creation, written whole; errors
 * are returned, never printed. Nothing here exits the process.
 */
#ifndef ISULA_REGISTRY_PULL_PROGRESS_H
#define ISULA_REGISTRY_PULL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pull_progress pull_progress;

/* The values `--progress` accepts, for a help text. */
#define PULL_PROGRESS_MODES "auto|tty|plain|json|quiet"

/*
 * A drawer for the pull of `image` (the reference as the user typed it),
 * writing to `fd`. `mode` is one of PULL_PROGRESS_MODES (NULL: auto). auto
 * draws bars when `fd` is a terminal and TERM is set and not "dumb", else
 * plain lines. NULL on a bad mode or a bad reference, with the reason in
 * `err` (at most `errlen` bytes, NUL-terminated).
 */
pull_progress *pull_progress_new(const char *mode, int fd, const char *image, char *err, size_t errlen);

/* false for quiet: the client can tell its daemon not to send frames. */
bool pull_progress_wants_frames(const pull_progress *p);

/*
 * One frame of `n` layers: `ids[i]` (a digest or a short id), `current[i]`
 * of `total[i]` bytes (0 or less: unknown), and `phases[i]`, the layer's
 * phase as Docker words it ("Waiting", "Downloading", "Verifying Checksum",
 * "Download complete", "Extracting", "Pull complete", "Already exists", ...)
 * when the daemon sends one; `phases` or `phases[i]` NULL, empty or another
 * text: inferred from the bytes. Layers keep the order in which they first
 * appear. Draws what changed (the first call also the `TAG: Pulling from
 * REPO` line; `n` may be 0 for just that). The terminal's size is read
 * again on every call, so a resize is followed. 0, or -1 when writing
 * failed or an argument is bad.
 */
int pull_progress_frame(pull_progress *p, size_t n, const char *const *ids, const int64_t *current,
                        const int64_t *total, const char *const *phases);

/*
 * The pull succeeded and the daemon stored `stored_name` (NULL: the
 * reference typed): the last frame, the Status line and the reference.
 * 0, or -1.
 */
int pull_progress_done(pull_progress *p, const char *stored_name);

/*
 * The pull failed for `reason`: the last frame and `Error: reason` (json:
 * an error object; quiet: nothing, so the client says it itself). 0, or -1.
 */
int pull_progress_failed(pull_progress *p, const char *reason);

/* Frees `p` (NULL is fine). */
void pull_progress_free(pull_progress *p);

#ifdef __cplusplus
}
#endif

#endif
