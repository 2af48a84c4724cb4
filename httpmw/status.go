package httpmw

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// statusWriter records the status the next handler answers with, for the
// "request allowed" log line. It is used only when that line is logged.
//
// It keeps what the wrapped writer can do: Unwrap serves
// http.ResponseController, and Flush, Hijack, Push and ReadFrom pass
// through (Hijack and Push report http.ErrNotSupported when the wrapped
// writer cannot).
type statusWriter struct {
	http.ResponseWriter
	status int // 0 until the final status is sent
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers are informational: the final status comes later.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends buffered data, as http.Flusher; a no-op when the wrapped
// writer cannot flush.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes over the connection, as http.Hijacker.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Push starts an HTTP/2 server push, as http.Pusher.
func (w *statusWriter) Push(target string, opts *http.PushOptions) error {
	if p, ok := w.ResponseWriter.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

// ReadFrom copies r into the response, as io.ReaderFrom, so that the
// wrapped writer's sendfile path is kept.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides every method but Write, so that io.Copy does not call
// ReadFrom again.
type writerOnly struct{ io.Writer }

// answered returns the status the handler sent: 200 when it wrote nothing,
// as net/http then answers.
func (w *statusWriter) answered() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
