package lb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
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
// trailers as they are (HTTP/1.1 on the other side), else only the data
// goes through (an HTTP/1.0 client, whose response ends with the
// connection).
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
			if _, err := dst.Write(line); err != nil {
				return dstError{err}
			}
		}
		if size == 0 {
			return copyTrailers(dst, src, frame, tick)
		}
		if err := copyN(dst, src, size, tick); err != nil {
			return err
		}
		crlf, err := readLine(dst, src, tick)
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return srcError{errChunk}
		}
		if frame {
			if _, err := dst.Write(crlf); err != nil {
				return dstError{err}
			}
		}
	}
}

func copyTrailers(dst *bufio.Writer, src *bufio.Reader, frame bool, tick func()) error {
	for total := 0; ; {
		line, err := readLine(dst, src, tick)
		if err != nil {
			return err
		}
		if total += len(line); total > maxHead {
			return srcError{errHeadTooLarge}
		}
		if frame {
			if _, err := dst.Write(line); err != nil {
				return dstError{err}
			}
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// readLine reads one line (with its LF) of at most the reader's buffer.
func readLine(dst *bufio.Writer, src *bufio.Reader, tick func()) ([]byte, error) {
	if err := fill(dst, src, tick); err != nil {
		return nil, err
	}
	line, err := src.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, srcError{err}
	}
	return line, nil
}

func chunkSize(line []byte) (int64, error) {
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 16 {
		return 0, errChunk
	}
	n, err := strconv.ParseInt(string(line), 16, 64)
	if err != nil || n < 0 {
		return 0, errChunk
	}
	return n, nil
}

// copyToEOF copies until the source ends; chunk frames what it copies as
// a chunked body (an HTTP/1.1 client then keeps its connection).
func copyToEOF(dst *bufio.Writer, src *bufio.Reader, chunk bool, tick func()) error {
	var sizeBuf [20]byte
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
			b := strconv.AppendInt(sizeBuf[:0], int64(len(p)), 16)
			b = append(b, '\r', '\n')
			if _, err := dst.Write(b); err != nil {
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
