package main

import "golang.org/x/sys/unix"

// threadClockAvailable reports whether threadNow works here: on Linux, it
// reads CLOCK_THREAD_CPUTIME_ID.
const threadClockAvailable = true

// threadNow returns the CPU time the calling thread has used, in
// nanoseconds. The caller keeps its goroutine on one thread
// (runtime.LockOSThread) between readings.
func threadNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic("bench: clock_gettime(CLOCK_THREAD_CPUTIME_ID): " + err.Error())
	}
	return ts.Nano()
}
