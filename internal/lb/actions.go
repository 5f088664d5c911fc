package lb

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/store"
)

// fixedSnap is an answer made without a target.
type fixedSnap struct {
	status      int
	statusLine  string   // "HTTP/1.1 404 Not Found\r\n"
	contentType []string // nil: none
	extra       []string // more fields, each with its CRLF
	body        []byte
	length      []string
}

func newFixed(status int, contentType, body string) *fixedSnap {
	f := &fixedSnap{
		status:     status,
		statusLine: "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n",
		body:       []byte(body),
		length:     []string{strconv.Itoa(len(body))},
	}
	if status == http.StatusServiceUnavailable {
		f.statusLine = "HTTP/1.1 503 Service Temporarily Unavailable\r\n"
	}
	if contentType != "" {
		f.contentType = []string{contentType}
	}
	return f
}

// errorPages are the bodies ELB answers with when it cannot proxy.
var errorPages = makeErrorPages()

func makeErrorPages() map[int]*fixedSnap {
	pages := map[int]*fixedSnap{}
	for _, code := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		title := strconv.Itoa(code) + " " + http.StatusText(code)
		if code == http.StatusServiceUnavailable {
			title = "503 Service Temporarily Unavailable"
		}
		pages[code] = newFixed(code, "text/html", page(title))
	}
	return pages
}

// statusPage is a plain error answer (400, 431, 501, 505).
func statusPage(code int) *fixedSnap {
	if p := errorPages[code]; p != nil {
		return p
	}
	return newFixed(code, "text/html", page(strconv.Itoa(code)+" "+http.StatusText(code)))
}

func page(title string) string {
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n"
}

// compileRedirect fills in the parts a redirect left out with the
// request's own.
func compileRedirect(r *store.Redirect) *redirectSnap {
	rd := &redirectSnap{
		protocol: or(r.Protocol, "#{protocol}"),
		host:     or(r.Host, "#{host}"),
		port:     or(r.Port, "#{port}"),
		path:     or(r.Path, "/#{path}"),
		query:    or(r.Query, "#{query}"),
		status:   http.StatusFound,
	}
	if r.StatusCode == "HTTP_301" {
		rd.status = http.StatusMovedPermanently
	}
	return rd
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// redirectLocation expands the reserved keys: #{protocol}, #{host},
// #{port}, #{path} (the path without its leading slash) and #{query}
// (without the '?').
func redirectLocation(rd *redirectSnap, q *request, ls *listenerSnap) string {
	rep := strings.NewReplacer(
		"#{protocol}", strings.ToLower(ls.protocol),
		"#{host}", q.getHost(),
		"#{port}", ls.portStr[0],
		"#{path}", strings.TrimPrefix(q.getRawPath(), "/"),
		"#{query}", q.getRawQuery(),
	)
	loc := strings.ToLower(rep.Replace(rd.protocol)) + "://" + rep.Replace(rd.host) + ":" + rep.Replace(rd.port) + rep.Replace(rd.path)
	if qs := rep.Replace(rd.query); qs != "" {
		loc += "?" + qs
	}
	return loc
}
