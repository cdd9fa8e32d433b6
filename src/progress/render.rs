//! Renderers: tty, plain, json, quiet.
