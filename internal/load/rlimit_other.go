//go:build !unix

package load

// raiseFileLimit is a no-op where there is no RLIMIT_NOFILE.
func raiseFileLimit() (uint64, error) { return 0, nil }

func processCPU() float64 { return 0 }
