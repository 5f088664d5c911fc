package lb

import (
	"bufio"
	"strings"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"/api/*", "/api/", false, true},
		{"/api/*", "/api", false, false},
		{"/api/*", "/api/a/b/c", false, true},
		{"*", "", false, true},
		{"?", "", false, false},
		{"/a?c", "/abc", false, true},
		{"/a?c", "/abbc", false, false},
		{"*.example.com", "www.example.com", true, true},
		{"*.example.com", "WWW.EXAMPLE.COM", true, true},
		{"*.example.com", "example.com", true, false},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"/Path", "/path", false, false},
		{"/path", "/path", false, true},
	}
	for _, c := range cases {
		if got := compilePattern(c.pat, c.fold).match(c.s); got != c.want {
			t.Errorf("match(%q, %q, fold=%v) = %v, want %v", c.pat, c.s, c.fold, got, c.want)
		}
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{"a.test": "a.test", "a.test:80": "a.test", "[::1]:80": "::1", "::1": "::1"} {
		if got := hostOnly(in); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConditions(t *testing.T) {
	req := func(method, target string, hdr ...string) *request {
		raw := method + " " + target + " HTTP/1.1\r\nHost: h\r\n"
		for i := 0; i+1 < len(hdr); i += 2 {
			raw += hdr[i] + ": " + hdr[i+1] + "\r\n"
		}
		h := new(head)
		if err := h.readRequest(bufio.NewReader(strings.NewReader(raw + "\r\n"))); err != nil {
			t.Fatal(err)
		}
		q := newRequest(h, "10.1.2.3:5555")
		return &q
	}
	cases := []struct {
		name string
		c    store.Condition
		q    *request
		want bool
	}{
		{"query any key", store.Condition{Field: store.CondQueryString, QueryValues: []store.QueryKeyValue{{Value: "blue"}}}, req("GET", "/?color=BLUE"), true},
		{"query key wildcard", store.Condition{Field: store.CondQueryString, QueryValues: []store.QueryKeyValue{{Key: "v*", Value: "*"}}}, req("GET", "/?version=1"), true},
		{"query no match", store.Condition{Field: store.CondQueryString, QueryValues: []store.QueryKeyValue{{Key: "a", Value: "1"}}}, req("GET", "/?a=2"), false},
		{"header any value", store.Condition{Field: store.CondHTTPHeader, HTTPHeaderName: "user-agent", Values: []string{"*Mobile*"}}, req("GET", "/", "User-Agent", "x Mobile y"), true},
		{"header missing", store.Condition{Field: store.CondHTTPHeader, HTTPHeaderName: "X-A", Values: []string{"*"}}, req("GET", "/"), false},
		{"method is case-sensitive", store.Condition{Field: store.CondHTTPRequestMethod, Values: []string{"post"}}, req("POST", "/"), false},
		{"source ip", store.Condition{Field: store.CondSourceIP, Values: []string{"10.1.0.0/16"}}, req("GET", "/"), true},
		{"source ip outside", store.Condition{Field: store.CondSourceIP, Values: []string{"192.0.2.0/24"}}, req("GET", "/"), false},
		{"unknown field never matches", store.Condition{Field: "bogus", Values: []string{"*"}}, req("GET", "/"), false},
	}
	for _, c := range cases {
		cs := compileConds([]store.Condition{c.c})
		if got := cs[0].match(c.q); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
