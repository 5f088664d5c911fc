// Command pause is the program inside the quayside-test/pause image: it
// sleeps until SIGTERM or SIGINT and then exits 0. An awsvpc task's pause
// container runs it to hold the task's network namespace. Standard library
// only (see test/images/echo).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
