package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
)

// Description is what GET / answers.
type Description struct {
	Hostname  string            `json:"hostname"`
	Args      []string          `json:"args"`
	Env       map[string]string `json:"env"`
	PID       int               `json:"pid"`
	UID       int               `json:"uid"`
	Cwd       string            `json:"cwd"`
	Addresses []string          `json:"addresses"`
	Request   Request           `json:"request"`
}

// Request describes the request that was answered.
type Request struct {
	Method     string              `json:"method"`
	Host       string              `json:"host"`
	Path       string              `json:"path"`
	Query      string              `json:"query"`
	RemoteAddr string              `json:"remoteAddr"`
	Headers    map[string][]string `json:"headers"`
}

func describe(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	cwd, _ := os.Getwd()
	d := Description{
		Hostname:  host,
		Args:      os.Args,
		Env:       map[string]string{},
		PID:       os.Getpid(),
		UID:       os.Getuid(),
		Cwd:       cwd,
		Addresses: addresses(),
		Request: Request{
			Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.RawQuery,
			RemoteAddr: r.RemoteAddr, Headers: r.Header,
		},
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		d.Env[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(d)
}

// addresses lists the non-loopback IP addresses of the container.
func addresses() []string {
	out := []string{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}
