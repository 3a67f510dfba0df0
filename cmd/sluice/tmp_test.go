package main

import "os"

// mkdirTemp makes the folder the test binaries go to; the OS cleans its
// temp directory, and each run makes a new one.
func mkdirTemp() (string, error) { return os.MkdirTemp("", "sluice-cli-test") }
