// Package lbtest sends steady HTTP load through a load balancer for tests
// that count what it answers while things change behind it (a rolling
// deployment, a killed task). It imports nothing of Quayside's.
package lbtest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrs is how many failure messages a Load keeps.
const maxErrs = 20

// Load sends GET requests from workers until halted, counting the answers
// by the key its classify gives them, and the failures: a transport error
// or a status other than 200.
type Load struct {
	OK, Failed atomic.Int64
	mu         sync.Mutex
	keys       map[string]int
	errs       []string
	stop       chan struct{}
	wg         sync.WaitGroup
}

// Start runs workers, worker i sending to urls[i % len(urls)]; classify
// turns a 200 answer's body into the key it is counted under.
func Start(urls []string, workers int, classify func(body []byte) string) *Load {
	l := &Load{keys: map[string]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for i := range workers {
		url := urls[i%len(urls)]
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				body, err := get(client, url)
				l.mu.Lock()
				if err != nil {
					l.Failed.Add(1)
					if len(l.errs) < maxErrs {
						l.errs = append(l.errs, err.Error())
					}
				} else {
					l.OK.Add(1)
					l.keys[classify(body)]++
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

// Halt stops the workers and returns what they saw: the answers, the
// failures, the answers by key and the first failure messages.
func (l *Load) Halt() (ok, failed int64, byKey map[string]int, errs []string) {
	close(l.stop)
	l.wg.Wait()
	return l.OK.Load(), l.Failed.Load(), l.keys, l.errs
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

// Body counts answers by their whole body.
func Body(b []byte) string { return string(b) }
