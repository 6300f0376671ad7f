//! Deeply nested statements and the thread's stack.
//!
//! The walks over a statement (its cache key, FROM resolution, lowering) recurse once
//! per level of nesting (an expression within an expression, a subquery within a
//! query), and so does sea-query's rendering. A spawned thread has 2 MiB of stack, and
//! a debug build's frames are several times a release build's: without care, an
//! expression a hundred levels deep would overflow it and abort the process.
//!
//! Past [`CHECK_FROM`] levels, each level of a walk checks the stack and goes on in a
//! fresh segment when little is left (the `stacker` crate, which rustc uses for the
//! same purpose); rendering runs on a stack sized for the depth lowering measured. A
//! statement nested deeper than [`MAX_DEPTH`] levels is refused with an error. Shallow
//! statements, nearly all of them, pay one comparison a level.

use crate::Error;

/// Levels walked without any stack check.
pub(crate) const CHECK_FROM: u32 = 16;

/// The deepest nesting strata compiles (SQLite itself refuses expressions deeper
/// than 1000).
pub(crate) const MAX_DEPTH: u32 = 2000;

/// Stack a level may use before the next check.
const RED_ZONE: usize = 256 * 1024;

/// The size of a fresh stack segment for the walks.
const SEGMENT: usize = 4 * 1024 * 1024;

/// Stack that sea-query's rendering takes per level of nesting, with room to spare.
const RENDER_PER_LEVEL: usize = if cfg!(debug_assertions) {
    64 * 1024
} else {
    16 * 1024
};

/// Run `f`, one level of a recursive walk at nesting `depth`: on this stack while the
/// walk is shallow or the stack has room, else on a fresh segment.
#[inline(always)]
pub(crate) fn level<R>(depth: u32, f: impl FnOnce() -> R) -> R {
    if depth < CHECK_FROM {
        f()
    } else {
        stacker::maybe_grow(RED_ZONE, SEGMENT, f)
    }
}

/// The error for a statement nested deeper than [`MAX_DEPTH`].
pub(crate) fn too_deep() -> Error {
    Error::InvalidStatement(format!(
        "the statement is nested more than {MAX_DEPTH} levels deep (expressions within \
         expressions, or subqueries within queries): strata compiles up to {MAX_DEPTH} levels"
    ))
}

/// Run `f`, which renders (or drops) a lowered statement `depth` levels deep, on a
/// stack with room for that depth.
pub(crate) fn with_render_stack<R>(depth: u32, f: impl FnOnce() -> R) -> R {
    if depth < CHECK_FROM {
        return f();
    }
    let need = depth as usize * RENDER_PER_LEVEL + RED_ZONE;
    match stacker::remaining_stack() {
        Some(left) if left >= need => f(),
        _ => stacker::grow(need, f),
    }
}
