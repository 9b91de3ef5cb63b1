//! Windows: a supervised process and every process it starts live in one job object, so stopping
//! it ends the whole tree (a `minikube` or `kubectl` that started helpers of its own, a shell
//! wrapper and its script), and so does the xtask's own end: the job is made with
//! kill-on-close, and the system closes its handle when the xtask exits, however it exits.
//!
//! On Unix a stopped process gets SIGTERM and ends its own children; nothing is needed here.
//!
//! This is the xtask's one use of `unsafe`: the job object API has no safe wrapper in the
//! standard library. Each call gets valid handles it owns and checks the result.

#![allow(unsafe_code)]

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::process::Child;

use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};

/// A job object holding one child process and its descendants.
pub struct Job(OwnedHandle);

impl Job {
    /// Puts `child` in a new kill-on-close job. `None` when the system refuses (e.g. the child
    /// already ended); the caller then stops the child alone, as before.
    ///
    /// The child runs from its start until it is assigned, a few microseconds; a process it
    /// starts in that window is not in the job.
    pub fn of(child: &Child) -> Option<Job> {
        // SAFETY: null attributes and name are allowed; the returned handle is checked and then
        // owned (closed once, on drop).
        let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if raw.is_null() {
            return None;
        }
        // SAFETY: `raw` is a new, valid handle that nothing else owns.
        let job = Job(unsafe { OwnedHandle::from_raw_handle(raw) });
        // SAFETY: all-zero is a valid value of this plain C struct (no limits set).
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        let size = u32::try_from(size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>()).ok()?;
        // SAFETY: the job handle is valid; `info` is the struct this information class names,
        // with its size, and lives through the call.
        let set = unsafe {
            SetInformationJobObject(
                job.0.as_raw_handle(),
                JobObjectExtendedLimitInformation,
                std::ptr::from_ref(&info).cast(),
                size,
            )
        };
        // SAFETY: both handles are valid for the call: the job is owned here, the process
        // handle by `child`, which the caller still holds.
        let assigned = set != 0
            && unsafe { AssignProcessToJobObject(job.0.as_raw_handle(), child.as_raw_handle()) }
                != 0;
        assigned.then_some(job)
    }

    /// Ends every process in the job; false when the system refused.
    pub fn terminate(&self) -> bool {
        // SAFETY: the job handle is valid while `self` lives.
        unsafe { TerminateJobObject(self.0.as_raw_handle(), 1) != 0 }
    }
}
