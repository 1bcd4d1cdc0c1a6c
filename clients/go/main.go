// go-goroutines: a goroutine per request with net/http, at most C in flight (a semaphore of C
// lanes), speaking docs/CLIENTS.md. Standard library only.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

type Spec struct {
	Target struct {
		URL     string            `json:"url"`
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers"`
		Body    *string           `json:"body"`
	} `json:"target"`
	Requests    int     `json:"requests"`
	Concurrency int     `json:"concurrency"`
	TimeoutMs   int64   `json:"timeout_ms"`
	Rate        float64 `json:"rate"`
	Keepalive   bool    `json:"keepalive"`
	WorkUs      int64   `json:"work_us"`
}

type Line struct {
	Seq       int     `json:"seq"`
	Lane      int     `json:"lane"`
	StartUs   int64   `json:"start_us"`
	EndUs     int64   `json:"end_us"`
	Status    int     `json:"status"`
	Bytes     int64   `json:"bytes"`
	ErrorKind *string `json:"error_kind"`
	Error     *string `json:"error"`
}

// clock reads clock_gettime(id) in µs: CLOCK_MONOTONIC (1) is the protocol's clock; Go's
// time.Now() has a monotonic reading but never shows its absolute value.
func clock(id uintptr) int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Sec*1000000 + ts.Nsec/1000
}

func nowUs() int64 { return clock(1) }

// work spends workUs of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID) hashing the body.
func work(body []byte, workUs int64) uint32 {
	if workUs <= 0 {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if len(body) == 0 {
		body = []byte("x")
	}
	var h uint32
	for end := clock(3) + workUs; clock(3) < end; {
		for _, b := range body {
			h = h*31 + uint32(b)
		}
	}
	return h
}

var outMu sync.Mutex
var out = bufio.NewWriter(os.Stdout)

func write(v interface{}) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	out.Write(append(b, '\n'))
	out.Flush()
	outMu.Unlock()
}

func kindOf(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"), strings.Contains(err.Error(), "dial"):
		return "connect"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "reset"):
		return "reset"
	}
	return "other"
}

func main() {
	var spec Spec
	in := bufio.NewReader(os.Stdin)
	text, _ := in.ReadString('\n')
	if err := json.Unmarshal([]byte(text), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "bad workload:", err)
		os.Exit(2)
	}
	lanes := spec.Concurrency
	if spec.Requests < lanes {
		lanes = spec.Requests
	}
	client := &http.Client{
		Timeout:       time.Duration(spec.TimeoutMs) * time.Millisecond,
		Transport:     &http.Transport{MaxIdleConnsPerHost: lanes, DisableKeepAlives: !spec.Keepalive},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	sem := make(chan int, lanes) // the free lanes
	for l := 0; l < lanes; l++ {
		sem <- l
	}
	var wg sync.WaitGroup
	t0 := nowUs()
	write(map[string]interface{}{"hello": "go-goroutines (" + runtime.Version() + ", net/http)", "t_us": t0})
	for seq := 0; seq < spec.Requests; seq++ {
		if spec.Rate > 0 {
			if left := t0 + int64(float64(seq)*1e6/spec.Rate) - nowUs(); left > 0 {
				time.Sleep(time.Duration(left) * time.Microsecond)
			}
		}
		lane := <-sem
		wg.Add(1)
		go func(seq, lane int) {
			defer wg.Done()
			defer func() { sem <- lane }()
			line := Line{Seq: seq, Lane: lane, StartUs: nowUs()}
			var body io.Reader
			if spec.Target.Body != nil {
				body = strings.NewReader(*spec.Target.Body)
			}
			req, err := http.NewRequest(spec.Target.Method, spec.Target.URL, body)
			var data []byte
			if err == nil {
				for k, v := range spec.Target.Headers {
					req.Header.Set(k, v)
				}
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					data, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					line.Status = resp.StatusCode
				}
			}
			line.EndUs = nowUs()
			line.Bytes = int64(len(data))
			if err != nil {
				kind, msg := kindOf(err), err.Error()
				line.ErrorKind, line.Error = &kind, &msg
			} else if line.Status < 200 || line.Status >= 400 {
				kind := "status"
				line.ErrorKind = &kind
			}
			write(line)
			if err == nil {
				work(data, spec.WorkUs)
			}
		}(seq, lane)
	}
	wg.Wait()
	write(map[string]int{"done": spec.Requests})
}
