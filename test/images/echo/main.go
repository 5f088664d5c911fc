// Command echo is the program inside the quayside-test/echo image: a small
// HTTP server whose behaviour the tests switch with environment variables or
// flags (flags win). It uses only the standard library, so that
// internal/testimages can compile it with CGO_ENABLED=0 into a FROM-scratch
// image without any module download.
//
// Usage:
//
//	echo [serve] [flags]   run the server (the default)
//	echo healthcheck       exit 0 when healthy, 1 otherwise (a container
//	                       healthCheck command: ["CMD","/echo","healthcheck"])
//	echo exit CODE         exit with CODE at once
//
// Flags of serve, with their environment variables:
//
//	-port N            PORT             listen port (8080)
//	-exit-after D      EXIT_AFTER       exit after D ("2s", or seconds "2")
//	-exit-code N       EXIT_CODE        code for -exit-after (0)
//	-start-delay D     START_DELAY      sleep D before listening
//	-ignore-sigterm    IGNORE_SIGTERM=1 ignore SIGTERM (only SIGKILL stops it)
//	-sigterm-code N    SIGTERM_CODE     exit code on SIGTERM (0)
//	-unhealthy         UNHEALTHY=1      start unhealthy
//	-health-file PATH  HEALTH_FILE      unhealthy while PATH exists
//	-write-file PATH   WRITE_FILE       write -write-content to PATH at start
//	-write-content S   WRITE_CONTENT    ("hello")
//	-alloc-mb N        ALLOC_MB         allocate and touch N MiB at start
//	-listen-error A    LISTEN_ERROR     "exit" (1, the default) or "wait": keep
//	                                    running without HTTP, e.g. when another
//	                                    container of the namespace has the port
//
// HTTP endpoints:
//
//	GET  /                 JSON: hostname, env, args, pid, request
//	GET  /health           200 "ok" or 503 "unhealthy"
//	POST /health?status=unhealthy|healthy   flip health at runtime
//	GET  /file?path=P      the file's content (404 when absent)
//	PUT  /file?path=P      write the body to P (parents created)
//	GET  /fetch?url=U      GET U from inside the container; relays status and body
//	GET  /dial?addr=H:P    open a TCP connection to H:P; 200 "ok" or 502
//	POST /exit?code=N      answer, then exit with N
//	POST /alloc?mb=N       allocate and touch N MiB (OOM tests)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		os.Exit(serve(args))
	case "healthcheck":
		os.Exit(healthcheck())
	case "exit":
		code := 0
		if len(args) > 0 {
			code, _ = strconv.Atoi(args[0])
		}
		fmt.Println("exiting with", code)
		os.Exit(code)
	default:
		fmt.Fprintln(os.Stderr, "echo: unknown command", cmd)
		os.Exit(64)
	}
}

type config struct {
	port          string
	exitAfter     time.Duration
	exitCode      int
	startDelay    time.Duration
	ignoreSIGTERM bool
	sigtermCode   int
	unhealthy     bool
	healthFile    string
	writeFile     string
	writeContent  string
	allocMB       int
	listenError   string
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.StringVar(&c.port, "port", env("PORT", "8080"), "listen port")
	exitAfter := fs.String("exit-after", env("EXIT_AFTER", ""), "exit after this duration")
	fs.IntVar(&c.exitCode, "exit-code", envInt("EXIT_CODE", 0), "exit code for -exit-after")
	startDelay := fs.String("start-delay", env("START_DELAY", ""), "sleep before listening")
	fs.BoolVar(&c.ignoreSIGTERM, "ignore-sigterm", env("IGNORE_SIGTERM", "") == "1", "ignore SIGTERM")
	fs.IntVar(&c.sigtermCode, "sigterm-code", envInt("SIGTERM_CODE", 0), "exit code on SIGTERM")
	fs.BoolVar(&c.unhealthy, "unhealthy", env("UNHEALTHY", "") == "1", "start unhealthy")
	fs.StringVar(&c.healthFile, "health-file", env("HEALTH_FILE", ""), "unhealthy while this file exists")
	fs.StringVar(&c.writeFile, "write-file", env("WRITE_FILE", ""), "file to write at start")
	fs.StringVar(&c.writeContent, "write-content", env("WRITE_CONTENT", "hello"), "content for -write-file")
	fs.IntVar(&c.allocMB, "alloc-mb", envInt("ALLOC_MB", 0), "MiB to allocate at start")
	fs.StringVar(&c.listenError, "listen-error", env("LISTEN_ERROR", "exit"), `"exit" or "wait" when the port cannot be bound`)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.exitAfter, err = duration(*exitAfter); err != nil {
		return c, err
	}
	c.startDelay, err = duration(*startDelay)
	return c, err
}

var healthy atomic.Bool

func serve(args []string) int {
	c, err := parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		return 64
	}
	healthy.Store(!c.unhealthy)
	stop := handleSignals(c)
	if c.exitAfter > 0 {
		go func() {
			time.Sleep(c.exitAfter)
			fmt.Println("exit-after elapsed; exiting with", c.exitCode)
			os.Exit(c.exitCode)
		}()
	}
	if err := prepare(c); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		return 1
	}
	time.Sleep(c.startDelay)
	srv := &http.Server{Addr: ":" + c.port, Handler: routes(c), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		code := <-stop
		fmt.Println("SIGTERM received; exiting with", code)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		os.Exit(code)
	}()
	fmt.Println("listening on", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "echo:", err)
		if c.listenError != "wait" {
			return 1
		}
	}
	select {} // Shutdown in progress: the signal goroutine exits.
}

// handleSignals makes SIGTERM/SIGINT deliver the exit code on the returned
// channel, or ignores SIGTERM entirely.
func handleSignals(c config) <-chan int {
	stop := make(chan int, 1)
	sigs := make(chan os.Signal, 1)
	if c.ignoreSIGTERM {
		signal.Ignore(syscall.SIGTERM)
		signal.Notify(sigs, syscall.SIGINT)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	go func() {
		<-sigs
		stop <- c.sigtermCode
	}()
	return stop
}

// prepare does the start-time work: files and memory.
func prepare(c config) error {
	if c.writeFile != "" {
		if err := writeFile(c.writeFile, []byte(c.writeContent)); err != nil {
			return err
		}
		fmt.Println("wrote", c.writeFile)
	}
	if c.allocMB > 0 {
		ballast = alloc(c.allocMB)
	}
	return nil
}

var ballast [][]byte

func alloc(mb int) [][]byte {
	out := make([][]byte, 0, mb)
	for range mb {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		out = append(out, b)
	}
	return out
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func isHealthy(c config) bool {
	if c.healthFile != "" {
		if _, err := os.Stat(c.healthFile); err == nil {
			return false
		}
	}
	return healthy.Load()
}

// healthcheck asks the running server in this container for its health.
func healthcheck() int {
	if env("UNHEALTHY", "") == "1" {
		return 1
	}
	if f := env("HEALTH_FILE", ""); f != "" {
		if _, err := os.Stat(f); err == nil {
			return 1
		}
	}
	cl := http.Client{Timeout: 3 * time.Second}
	resp, err := cl.Get("http://127.0.0.1:" + env("PORT", "8080") + "/health")
	if err != nil {
		fmt.Println("unhealthy:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Println("unhealthy:", resp.Status)
		return 1
	}
	return 0
}

func routes(c config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", describe)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if !isHealthy(c) {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /health", func(w http.ResponseWriter, r *http.Request) {
		healthy.Store(r.URL.Query().Get("status") != "unhealthy")
		fmt.Fprintln(w, "health set to", r.URL.Query().Get("status"))
	})
	mux.HandleFunc("GET /file", readFileHandler)
	mux.HandleFunc("PUT /file", writeFileHandler)
	mux.HandleFunc("GET /fetch", fetch)
	mux.HandleFunc("GET /dial", dial)
	mux.HandleFunc("POST /exit", exitHandler)
	mux.HandleFunc("POST /alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		ballast = append(ballast, alloc(mb)...)
		fmt.Fprintln(w, "allocated", mb, "MiB")
	})
	return mux
}

func readFileHandler(w http.ResponseWriter, r *http.Request) {
	data, err := os.ReadFile(r.URL.Query().Get("path"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	_, _ = w.Write(data)
}

func writeFileHandler(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err == nil {
		err = writeFile(r.URL.Query().Get("path"), data)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "wrote", len(data), "bytes")
}

func fetch(w http.ResponseWriter, r *http.Request) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(r.URL.Query().Get("url"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func dial(w http.ResponseWriter, r *http.Request) {
	conn, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn.Close()
	fmt.Fprintln(w, "ok")
}

func exitHandler(w http.ResponseWriter, r *http.Request) {
	code, _ := strconv.Atoi(r.URL.Query().Get("code"))
	fmt.Fprintln(w, "exiting with", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		fmt.Println("exit requested; exiting with", code)
		os.Exit(code)
	}()
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(env(key, "")); err == nil {
		return n
	}
	return def
}

// duration accepts "1.5s"-style durations and plain seconds.
func duration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}
