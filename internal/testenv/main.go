package testenv

import "testing"

// Main runs the package's tests and then stops the shared servers they started, so nothing
// outlives the test binary. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	stopSharedPostgres()
	return code
}
