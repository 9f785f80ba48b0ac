package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/store"
)

// A running daemon holds the store and the index of its data directory (file locks),
// so search, report, export and silence would be shut out while it runs — which is
// always, in production. Instead they go through the daemon: it serves a local API
// (POST /api/cli) that runs the same command on its open data directory, and writes
// where to find it, with a token, into the data directory. Whoever can read the data
// directory can use it, and nobody else: the same permission as the data itself.

// localAPIPath is the daemon's endpoint for commands run by the command line.
const localAPIPath = "/api/cli"

// localAPIFile, in the data directory, tells the command line where the daemon listens.
const localAPIFile = "daemon.json"

// localCommand reports whether the daemon runs command for the command line: the ones
// that need the data directory, and nothing that could start or stop anything.
func localCommand(command string) bool {
	switch command {
	case "search", "report", "export", "silence":
		return true
	}
	return false
}

// shared is a data directory opened by this process (the daemon's).
type shared struct {
	dir string // absolute
	dd  *dataDir
}

// lockedError is a data directory held by another process.
type lockedError struct {
	dir string
	err error
}

func (e *lockedError) Error() string { return e.err.Error() }
func (e *lockedError) Unwrap() error { return e.err }

// data opens a data directory, or lends the daemon's own when the command runs inside
// it. close releases what data opened.
func (e *env) data(dir string, readOnly bool) (dd *dataDir, close func() error, err error) {
	if e.shared != nil && samePath(dir, e.shared.dir) {
		return e.shared.dd, func() error { return nil }, nil
	}
	dd, err = openDataDir(dir, readOnly)
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, &lockedError{dir: dir, err: err}
	}
	if err != nil {
		return nil, nil, err
	}
	return dd, dd.Close, nil
}

// storeOf is data for the commands that need only the store; open opens it.
func (e *env) storeOf(dir string, open func() (*store.Store, error)) (st *store.Store, close func() error, err error) {
	if e.shared != nil && samePath(dir, e.shared.dir) {
		return e.shared.dd.st, func() error { return nil }, nil
	}
	st, err = open()
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, &lockedError{dir: dir, err: err}
	}
	if err != nil {
		return nil, nil, err
	}
	return st, st.Close, nil
}

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// localAPIInfo is the content of localAPIFile.
type localAPIInfo struct {
	Addr  string `json:"addr"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

// cliRequest and cliResponse are the local API's JSON.
type cliRequest struct {
	Args []string `json:"args"`
}

type cliResponse struct {
	Code   int    `json:"code"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

// localAPI is the daemon's handler of localAPIPath.
type localAPI struct {
	token  string
	shared *shared
}

func newLocalAPI(dir string, dd *dataDir) (*localAPI, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("local API token: %w", err)
	}
	return &localAPI{token: hex.EncodeToString(b), shared: &shared{dir: abs, dd: dd}}, nil
}

func (a *localAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	var req cliRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || len(req.Args) == 0 {
		http.Error(w, "want {\"args\": [COMMAND, ...]}", http.StatusBadRequest)
		return
	}
	if !localCommand(req.Args[0]) {
		http.Error(w, fmt.Sprintf("%q does not run through the daemon (only search, report, export and silence)", req.Args[0]), http.StatusForbidden)
		return
	}
	var out, errb bytes.Buffer
	code := runWith(r.Context(), req.Args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, shared: a.shared})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(cliResponse{Code: code, Stdout: out.String(), Stderr: errb.String()})
}

// publish writes where the daemon listens into its data directory (owner only); withdraw
// removes it when the daemon stops.
func (a *localAPI) publish(addr string) error {
	b, err := json.Marshal(localAPIInfo{Addr: addr, Token: a.token, PID: os.Getpid()})
	if err != nil {
		return err
	}
	path := filepath.Join(a.shared.dir, localAPIFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("publish the local API: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("publish the local API: %w", err)
	}
	return nil
}

func (a *localAPI) withdraw() { os.Remove(filepath.Join(a.shared.dir, localAPIFile)) }

// viaDaemon runs args in the daemon that holds dir, and returns the exit code. ok is
// false when no daemon's local API answers: the caller then reports locked.
func viaDaemon(ctx context.Context, locked *lockedError, args []string, env *env) (code int, ok bool) {
	b, err := os.ReadFile(filepath.Join(locked.dir, localAPIFile))
	if err != nil {
		return 0, false
	}
	var info localAPIInfo
	if json.Unmarshal(b, &info) != nil || info.Addr == "" {
		return 0, false
	}
	body, _ := json.Marshal(cliRequest{Args: args})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+info.Addr+localAPIPath, bytes.NewReader(body))
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		fmt.Fprintf(env.stderr, "kizuki: the running daemon refused: %s %s", resp.Status, msg)
		return 1, true
	}
	var res cliResponse
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		fmt.Fprintf(env.stderr, "kizuki: the running daemon's answer: %v\n", err)
		return 1, true
	}
	io.WriteString(env.stdout, res.Stdout)
	io.WriteString(env.stderr, res.Stderr)
	return res.Code, true
}
