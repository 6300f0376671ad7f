//! Stack guards for deep statements: cloning or dropping an expression or statement
//! recurses once per level of nesting, and one built in a loop (`e = e + x`, a subquery
//! of a subquery ...) can be far deeper than a thread's stack allows. Past the red zone
//! the work goes on in a fresh stack segment.

/// Past this much stack left, a deep clone or drop goes on in a fresh stack segment.
const STACK_RED_ZONE: usize = 64 * 1024;

/// The size of a fresh stack segment for a deep clone or drop.
const STACK_SEGMENT: usize = 1024 * 1024;

/// Run `f` here, or in a fresh stack segment when this stack is nearly used up.
pub(crate) fn with_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, f)
}

/// Whether this stack is nearly used up (a drop should go on elsewhere).
pub(crate) fn stack_is_low() -> bool {
    stacker::remaining_stack().is_some_and(|r| r < STACK_RED_ZONE)
}

/// Drop `v` in a fresh stack segment.
pub(crate) fn drop_in_fresh_segment<T>(v: T) {
    stacker::grow(STACK_SEGMENT, move || drop(v));
}
