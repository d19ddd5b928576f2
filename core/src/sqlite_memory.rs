//! How SQLite allocates in this process: through Rust's global allocator (mimalloc in the
//! binary), without memory statistics. Both are process-wide settings SQLite takes only
//! before it is initialised, so the binary sets them first thing (`src/main.rs`); tests and
//! other users of core keep SQLite's defaults.
//!
//! Why: sqlx copies every value of every row out of SQLite on the connection's worker thread
//! (`sqlite3_value_dup`, an allocation or two each) and frees it on a tokio thread. With
//! SQLite's defaults each of those took a process-wide mutex (memory statistics) and went
//! through glibc's malloc, which frees another thread's blocks slowly; a 500-row API page
//! spent half its time there.

use std::alloc::{self, Layout};
use std::os::raw::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// Bytes before each block holding its size (SQLite asks a block's size back, `xSize`), and
/// the blocks' alignment (SQLite needs 8).
const HEADER: usize = 8;

/// Set SQLite up as this module says; `true` when SQLite took both settings. Call it before
/// anything opens a database: once SQLite is initialised it refuses them (SQLITE_MISUSE) and
/// nothing changes. Later calls return the first answer.
pub fn configure() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: null_mut(),
        };
        let off: c_int = 0;
        // SAFETY: sqlite3_config must not run while another thread uses SQLite (callers call
        // this before opening any database, and SQLite refuses it once initialised); MALLOC
        // takes a pointer to the methods, which SQLite copies; MEMSTATUS takes an int.
        unsafe {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const _) == ffi::SQLITE_OK
                && ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, off) == ffi::SQLITE_OK
        }
    })
}

/// The layout of a block of `n` bytes for SQLite, with its header.
fn layout(n: usize) -> Option<Layout> {
    Layout::from_size_align(n.checked_add(HEADER)?, HEADER).ok()
}

/// The block whose SQLite part starts at `p`, and its layout.
///
/// # Safety
/// `p` was returned by [`x_malloc`] or [`x_realloc`] and not freed.
unsafe fn block(p: *mut c_void) -> (*mut u8, Layout) {
    // SAFETY: the block starts HEADER bytes before p, with its size written there; that
    // layout was valid when the block was allocated.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        let n = base.cast::<usize>().read();
        (base, Layout::from_size_align_unchecked(n + HEADER, HEADER))
    }
}

/// Write a block's size into its header and give SQLite the part after it.
///
/// # Safety
/// `base` is a live block of `n + HEADER` bytes aligned to HEADER.
unsafe fn hand_out(base: *mut u8, n: usize) -> *mut c_void {
    // SAFETY: as the caller promises.
    unsafe {
        base.cast::<usize>().write(n);
        base.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(l) = usize::try_from(n).ok().and_then(layout) else {
        return null_mut();
    };
    // SAFETY: l's size is at least HEADER, never zero.
    let base = unsafe { alloc::alloc(l) };
    if base.is_null() {
        return null_mut();
    }
    // SAFETY: base is a fresh block of l.size() = n + HEADER bytes.
    unsafe { hand_out(base, l.size() - HEADER) }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what x_malloc or x_realloc gave it, once.
    unsafe {
        let (base, l) = block(p);
        alloc::dealloc(base, l);
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: as x_malloc.
        return unsafe { x_malloc(n) };
    }
    let Some(new) = usize::try_from(n).ok().and_then(layout) else {
        return null_mut();
    };
    // SAFETY: p is SQLite's live block (from x_malloc or x_realloc); the new size is
    // nonzero and a valid layout's; on failure the old block stays as it was, as SQLite
    // expects.
    unsafe {
        let (base, old) = block(p);
        let moved = alloc::realloc(base, old, new.size());
        if moved.is_null() {
            return null_mut();
        }
        hand_out(moved, new.size() - HEADER)
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: p is SQLite's live block; its size came from a c_int.
    let (_, l) = unsafe { block(p) };
    c_int::try_from(l.size() - HEADER).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    n.saturating_add(7) & !7
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_size_and_contents_through_realloc() {
        // SAFETY: the methods as SQLite calls them: a block is used within its size and
        // freed once.
        unsafe {
            let p = x_malloc(13);
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0, "8-byte aligned");
            assert_eq!(x_size(p), 13);
            std::ptr::copy_nonoverlapping(b"hello, sqlite".as_ptr(), p.cast::<u8>(), 13);
            let q = x_realloc(p, 4000);
            assert_eq!(x_size(q), 4000);
            assert_eq!(
                std::slice::from_raw_parts(q.cast::<u8>(), 13),
                b"hello, sqlite"
            );
            let r = x_realloc(q, 5);
            assert_eq!(std::slice::from_raw_parts(r.cast::<u8>(), 5), b"hello");
            x_free(r);
            x_free(null_mut());
            assert!(x_malloc(-1).is_null());
            assert_eq!(x_roundup(13), 16);
            assert_eq!(x_roundup(c_int::MAX), c_int::MAX & !7);
        }
    }
}
