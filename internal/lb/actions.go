package lb

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/store"
)

func writeFixed(w http.ResponseWriter, f *fixedSnap) {
	hdr := w.Header()
	hdr["Content-Type"] = f.contentType // nil: no type, and no sniffing
	hdr["Content-Length"] = f.length
	w.WriteHeader(f.status)
	_, _ = w.Write(f.body)
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

func page(title string) string {
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n"
}

func writeError(w http.ResponseWriter, code int) {
	hdr := w.Header()
	for k := range hdr {
		delete(hdr, k)
	}
	writeFixed(w, errorPages[code])
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
func redirectLocation(rd *redirectSnap, r *http.Request, host string, ls *listenerSnap) string {
	rep := strings.NewReplacer(
		"#{protocol}", strings.ToLower(ls.protocol),
		"#{host}", host,
		"#{port}", ls.portStr[0],
		"#{path}", strings.TrimPrefix(r.URL.EscapedPath(), "/"),
		"#{query}", r.URL.RawQuery,
	)
	loc := strings.ToLower(rep.Replace(rd.protocol)) + "://" + rep.Replace(rd.host) + ":" + rep.Replace(rd.port) + rep.Replace(rd.path)
	if q := rep.Replace(rd.query); q != "" {
		loc += "?" + q
	}
	return loc
}

func writeRedirect(w http.ResponseWriter, r *http.Request, ls *listenerSnap, rd *redirectSnap, host string) {
	hdr := w.Header()
	hdr["Location"] = []string{redirectLocation(rd, r, host, ls)}
	hdr["Content-Type"] = []string{"text/html"}
	w.WriteHeader(rd.status)
	_, _ = w.Write([]byte(page(strconv.Itoa(rd.status) + " " + http.StatusText(rd.status))))
}
