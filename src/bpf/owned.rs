//! Skeletons borrow the `OpenObject` storage they were opened into. Anything
//! that keeps a loaded BPF object for longer than one function (the probes for
//! the whole session, the scheduler between reloads) needs that storage to
//! live exactly as long as the skeleton: `Owned` pairs the two and drops them
//! in the right order.

use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use libbpf_rs::OpenObject;

pub struct Owned<T> {
    value: ManuallyDrop<T>,
    storage: NonNull<MaybeUninit<OpenObject>>,
}

impl<T> Owned<T> {
    /// Runs `build` with storage that outlives whatever it returns.
    pub fn new<E>(
        build: impl FnOnce(&'static mut MaybeUninit<OpenObject>) -> Result<T, E>,
    ) -> Result<Self, E> {
        let storage = NonNull::from(Box::leak(Box::new(MaybeUninit::uninit())));
        // SAFETY: the allocation is only reachable through this reference until
        // `Drop` (or the error path below) frees it, after `value` is gone.
        let value = build(unsafe { &mut *storage.as_ptr() });
        match value {
            Ok(value) => Ok(Self {
                value: ManuallyDrop::new(value),
                storage,
            }),
            Err(err) => {
                // SAFETY: `build` returned no borrower of the storage (the error
                // type is owned), so nothing refers to it any more.
                drop(unsafe { Box::from_raw(storage.as_ptr()) });
                Err(err)
            }
        }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `value` is dropped exactly once, here, and before the storage
        // it borrows is freed; nothing else holds the storage pointer.
        unsafe {
            ManuallyDrop::drop(&mut self.value);
            drop(Box::from_raw(self.storage.as_ptr()));
        }
    }
}

impl<T> Deref for Owned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Owned<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

// SAFETY: `Owned` is a `T` plus a heap allocation only that `T` uses; moving
// both to another thread is as safe as moving the `T`.
unsafe impl<T: Send> Send for Owned<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    struct DropFlag(Rc<Cell<u32>>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn value_is_dropped_once_with_its_owner() {
        let drops = Rc::new(Cell::new(0));
        let owned = Owned::new(|_storage| Ok::<_, ()>(DropFlag(drops.clone())));
        let owned = owned.map_err(|()| "build failed");
        assert_eq!(drops.get(), 0);
        drop(owned);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn build_error_is_returned() {
        let result: Result<Owned<u32>, &str> = Owned::new(|_storage| Err("no"));
        assert_eq!(result.err(), Some("no"));
    }
}
