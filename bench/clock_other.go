//go:build !linux

package main

// threadClockAvailable reports whether threadNow works here: it does on
// Linux only.
const threadClockAvailable = false

func threadNow() int64 { panic("bench: -clock thread needs Linux") }
