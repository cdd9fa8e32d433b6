//! Fitting the tty block into the terminal's height.
//!
//! The tty renderer redraws its block by moving the cursor up to the
//! block's first line. That only works while that line is still on screen:
//! once the block has as many rows as the terminal, every redraw scrolls
//! and the scrollback fills with copies of the block. So a block never
//! takes more than `height - 1` rows (the cursor ends on the row below it).
//!
//! When the layer rows and the total line do not fit, finished layers
//! (`Pull complete`, `Already exists`, `Download complete`) fold into one
//! line at the top (`24 layers complete, 180.2MB`); the others keep their
//! own rows in manifest order, and the total line stays last. When even
//! those do not fit, as many as fit are shown, those that move first
//! (failed, then transferring, then waiting), and one `+N more` line
//! stands for the rest.

use super::event::Phase;
use super::model::Entry;
use super::render::human_size;

/// Layers with their place in the manifest.
type Indexed<'a> = Vec<(usize, &'a Entry)>;

/// What a layer is for folding purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Failed: always worth a row.
    Failed,
    /// Bytes are moving or the blob is being processed.
    Moving,
    /// Not started.
    Pending,
    /// Finished: folds into the `N layers complete` line.
    Finished,
}

fn class(e: &Entry) -> Class {
    match e.phase {
        Phase::PullComplete | Phase::AlreadyExists | Phase::DownloadComplete => Class::Finished,
        Phase::Failed(_) => Class::Failed,
        Phase::Resolving | Phase::Queued | Phase::Waiting => Class::Pending,
        _ => Class::Moving,
    }
}

/// The rows of the block within `budget` rows: layer rows (`line` makes
/// one), then `summary`, folded as the module doc says. `budget` of
/// `usize::MAX` means no limit.
pub fn block(
    layers: &[&Entry],
    summary: Option<String>,
    budget: usize,
    line: impl Fn(&Entry) -> String,
) -> Vec<String> {
    let summary_rows = usize::from(summary.is_some());
    if layers.len() + summary_rows <= budget {
        let mut rows: Vec<String> = layers.iter().map(|e| line(e)).collect();
        rows.extend(summary);
        return rows;
    }
    let rows_left = budget.saturating_sub(summary_rows);
    let (finished, active): (Indexed, Indexed) = layers
        .iter()
        .copied()
        .enumerate()
        .partition(|(_, e)| class(e) == Class::Finished);
    let mut rows = Vec::new();
    let fold_rows = usize::from(!finished.is_empty() && rows_left > 0);
    if fold_rows == 1 {
        rows.push(folded_text(finished.iter().map(|(_, e)| *e)));
    }
    let rows_left = rows_left - fold_rows;
    if active.len() <= rows_left {
        rows.extend(active.iter().map(|(_, e)| line(e)));
    } else if rows_left > 0 {
        let shown = rows_left - 1;
        let mut pick = active.clone();
        // stable: manifest order within a class
        pick.sort_by_key(|(_, e)| class(e));
        pick.truncate(shown);
        pick.sort_by_key(|(i, _)| *i);
        rows.extend(pick.iter().map(|(_, e)| line(e)));
        rows.push(format!("+{} more", active.len() - shown));
    }
    if budget > 0 {
        rows.extend(summary);
    }
    rows
}

/// `24 layers complete, 180.2MB` (the layers' sizes).
fn folded_text<'a>(layers: impl Iterator<Item = &'a Entry>) -> String {
    let (mut n, mut bytes) = (0u64, 0u64);
    for e in layers {
        n += 1;
        bytes = bytes.saturating_add(e.total.max(e.current));
    }
    let s = if n == 1 { "" } else { "s" };
    format!("{n} layer{s} complete, {}", human_size(bytes))
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
