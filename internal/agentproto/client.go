package agentproto

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of a non-JSON error answer is kept.
const maxErrorBody = 4 << 10

// Client speaks the protocol to one control plane. It is safe for concurrent
// use. Every non-2xx answer comes back as an *Error (use errors.As); an
// answer that is not JSON gets Code "HTTP <status>". Transport failures are
// returned as they are (wrapped), so callers can tell "the server said no"
// (an *Error) from "the server could not be reached" (anything else).
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client for the server at baseURL (scheme and host, e.g.
// "http://127.0.0.1:4566"; a trailing slash is ignored) that authenticates
// with token. hc nil means http.DefaultClient; its Timeout, if any, must be
// longer than the PollWait the server gives, or Assignments will time out.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// Register announces the node and returns its identity and timing.
func (c *Client) Register(ctx context.Context, req *RegisterRequest) (*RegisterResponse, error) {
	var out RegisterResponse
	return &out, c.call(ctx, PathRegister, req, &out)
}

// Heartbeat says the node is alive.
func (c *Client) Heartbeat(ctx context.Context, req *HeartbeatRequest) (*HeartbeatResponse, error) {
	var out HeartbeatResponse
	return &out, c.call(ctx, PathHeartbeat, req, &out)
}

// Assignments long-polls for the node's tasks changed after req.After (the
// full set when After is 0). It returns when something changed, when the
// server's PollWait ends (an empty delta), or when ctx ends.
func (c *Client) Assignments(ctx context.Context, req *AssignmentsRequest) (*AssignmentsResponse, error) {
	var out AssignmentsResponse
	return &out, c.call(ctx, PathAssignments, req, &out)
}

// Report delivers task state changes and returns what the server
// acknowledged.
func (c *Client) Report(ctx context.Context, req *ReportRequest) (*ReportResponse, error) {
	var out ReportResponse
	return &out, c.call(ctx, PathReport, req, &out)
}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("agentproto: encode %s: %w", path, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("agentproto: %s: %w", path, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return fmt.Errorf("agentproto: %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("agentproto: decode %s answer: %w", path, err)
	}
	return nil
}

func decodeError(resp *http.Response) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return fmt.Errorf("agentproto: read %d answer: %w", resp.StatusCode, err)
	}
	var e Error
	if json.Unmarshal(raw, &e) != nil || e.Code == "" {
		return &Error{Code: fmt.Sprintf("HTTP %d", resp.StatusCode), Message: strings.TrimSpace(string(raw))}
	}
	return &e
}
