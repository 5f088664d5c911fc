package lb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
)

// Body copies tell which side failed: a read error is the source's, a
// write error the destination's.
type srcError struct{ error }
type dstError struct{ error }

func (e srcError) Unwrap() error { return e.error }
func (e dstError) Unwrap() error { return e.error }

var errChunk = errors.New("lb: malformed chunked body")

// fill makes sure src has buffered data, flushing dst first when it would
// otherwise block, so a slow stream reaches the other side as it comes.
// tick (if any) runs before it blocks: it moves the idle deadlines.
func fill(dst *bufio.Writer, src *bufio.Reader, tick func()) error {
	if src.Buffered() > 0 {
		return nil
	}
	if tick != nil {
		tick()
	}
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return dstError{err}
		}
	}
	if _, err := src.Peek(1); err != nil {
		return srcError{err}
	}
	return nil
}

// copyN copies exactly n bytes.
func copyN(dst *bufio.Writer, src *bufio.Reader, n int64, tick func()) error {
	for n > 0 {
		if err := fill(dst, src, tick); err != nil {
			if errors.Is(err, io.EOF) {
				return srcError{io.ErrUnexpectedEOF}
			}
			return err
		}
		k := int(min(int64(src.Buffered()), n))
		p, _ := src.Peek(k)
		if _, err := dst.Write(p); err != nil {
			return dstError{err}
		}
		_, _ = src.Discard(k)
		n -= int64(k)
	}
	return nil
}

// copyChunked copies a chunked body; frame keeps the chunk framing and
// trailers (HTTP/1.1 on the other side), else only the data goes through
// (an HTTP/1.0 client, whose response ends with the connection).
//
// The framing is parsed strictly (RFC 9112 7.1: CRLF line ends, hex
// sizes, no stray bytes) and written anew — sizes in plain hex, chunk
// extensions dropped — rather than passed on as it came: a lenient parse
// forwarded byte for byte is how a proxy and its target come to disagree
// on where a body ends.
func copyChunked(dst *bufio.Writer, src *bufio.Reader, frame bool, tick func()) error {
	for {
		line, err := readLine(dst, src, tick)
		if err != nil {
			return err
		}
		size, err := chunkSize(line)
		if err != nil {
			return srcError{err}
		}
		if frame {
			writeHex(dst, size)
			if _, err := dst.Write(crlf); err != nil {
				return dstError{err}
			}
		}
		if size == 0 {
			return copyTrailers(dst, src, frame, tick)
		}
		if err := copyN(dst, src, size, tick); err != nil {
			return err
		}
		end, err := readLine(dst, src, tick)
		if err != nil {
			return err
		}
		if string(end) != "\r\n" {
			return srcError{errChunk}
		}
		if frame {
			if _, err := dst.Write(crlf); err != nil {
				return dstError{err}
			}
		}
	}
}

// copyTrailers copies the trailer section after the last chunk: field
// lines, each checked as a head's would be, then the empty line.
func copyTrailers(dst *bufio.Writer, src *bufio.Reader, frame bool, tick func()) error {
	for total := 0; ; {
		line, err := readLine(dst, src, tick)
		if err != nil {
			return err
		}
		if total += len(line); total > maxHead {
			return srcError{errHeadTooLarge}
		}
		last := string(line) == "\r\n"
		if !last && !validTrailer(line) {
			return srcError{errChunk}
		}
		if frame {
			if _, err := dst.Write(line); err != nil {
				return dstError{err}
			}
		}
		if last {
			return nil
		}
	}
}

// validTrailer: "name: value" CRLF, a token name, no folding, no CR or NUL
// in the value.
func validTrailer(line []byte) bool {
	body, ok := bytes.CutSuffix(line, crlf)
	if !ok || len(body) == 0 || body[0] == ' ' || body[0] == '\t' {
		return false
	}
	name, value, ok := bytes.Cut(body, []byte{':'})
	return ok && len(name) > 0 && isToken(name) && bytes.IndexByte(value, '\r') < 0 && bytes.IndexByte(value, 0) < 0
}

// readLine reads one line (with its LF) of at most the reader's buffer;
// a longer one is a malformed body.
func readLine(dst *bufio.Writer, src *bufio.Reader, tick func()) ([]byte, error) {
	if err := fill(dst, src, tick); err != nil {
		return nil, err
	}
	line, err := src.ReadSlice('\n')
	switch {
	case err == io.EOF:
		return nil, srcError{io.ErrUnexpectedEOF}
	case err == bufio.ErrBufferFull:
		return nil, srcError{errChunk}
	case err != nil:
		return nil, srcError{err}
	}
	return line, nil
}

// chunkSize parses a chunk-size line: 1*HEXDIG, then optionally BWS ";"
// and extensions (without control characters), then CRLF. A sign, a 0x
// prefix, spaces without an extension or a bare LF are errors.
func chunkSize(line []byte) (int64, error) {
	body, ok := bytes.CutSuffix(line, crlf)
	if !ok {
		return 0, errChunk
	}
	var n int64
	i := 0
	for ; i < len(body); i++ {
		d := unhex(body[i])
		if d < 0 {
			break
		}
		if n > math.MaxInt64>>4 {
			return 0, errChunk
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, errChunk
	}
	if ext := bytes.TrimLeft(body[i:], " \t"); len(ext) > 0 || i < len(body) {
		if len(ext) == 0 || ext[0] != ';' {
			return 0, errChunk
		}
		for _, c := range ext {
			if c < ' ' && c != '\t' || c == 0x7f {
				return 0, errChunk
			}
		}
	}
	return n, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// writeHex writes n in lower-case hex without allocating.
func writeHex(w *bufio.Writer, n int64) {
	shift := 60
	for shift > 0 && n>>shift == 0 {
		shift -= 4
	}
	for ; shift >= 0; shift -= 4 {
		_ = w.WriteByte("0123456789abcdef"[n>>shift&0xf])
	}
}

// copyToEOF copies until the source ends; chunk frames what it copies as
// a chunked body (an HTTP/1.1 client then keeps its connection).
func copyToEOF(dst *bufio.Writer, src *bufio.Reader, chunk bool, tick func()) error {
	for {
		if err := fill(dst, src, tick); err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			if chunk {
				if _, err := dst.WriteString("0\r\n\r\n"); err != nil {
					return dstError{err}
				}
			}
			return nil
		}
		p, _ := src.Peek(src.Buffered())
		if chunk {
			writeHex(dst, int64(len(p)))
			if _, err := dst.Write(crlf); err != nil {
				return dstError{err}
			}
		}
		if _, err := dst.Write(p); err != nil {
			return dstError{err}
		}
		if chunk {
			if _, err := dst.WriteString("\r\n"); err != nil {
				return dstError{err}
			}
		}
		_, _ = src.Discard(len(p))
	}
}
