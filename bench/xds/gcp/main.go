// Command gcp is the xDS benchmark's comparator: go-control-plane's SnapshotCache behind its own
// ADS server (SotW and delta), serving the resources Tether serves for the same generated config.
//
// It is a benchmark tool, not part of Tether. The runner (bench/xds/bench.ts) starts it and talks
// to it in JSON lines: on stdin commands, on stdout replies (stderr is for humans).
//
//	{"cmd":"load","file":F}      read Tether's resources of both node kinds (bench/xds/gcp-dump.ts)
//	{"cmd":"edit","seq":k}       the benchmark's one-route edit: svc-0's `edit` route now matches
//	                             header x-bench-edit exact "e<k>"; new snapshots for every node
//	{"cmd":"stats","gc":bool}    CPU time, memory, open streams
//	{"cmd":"stop"}
//
// Nodes are keyed by id (go-control-plane's IDHash, its usual setup; one cache per node kind, see main): a node gets its kind's
// snapshot (node metadata TETHER_NODE_KIND, as Tether reads it) on its first request, and each
// edit calls SetSnapshot for every known node with one snapshot object per kind, shared.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
)

type command struct {
	Cmd  string `json:"cmd"`
	File string `json:"file"`
	Seq  int    `json:"seq"`
	GC   bool   `json:"gc"`
}

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func reply(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	if err := out.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "gcp: stdout:", err)
		os.Exit(1)
	}
}

// nodes remembers each connected node's kind so that an edit can reach all of them.
type nodes struct {
	mu     sync.Mutex
	kindOf map[string]string
}

func kindOf(node *core.Node) string {
	if v := node.GetMetadata().GetFields()["TETHER_NODE_KIND"].GetStringValue(); v == "grpc" {
		return "grpc"
	}
	return "envoy"
}

func main() {
	// The Go runtime's default GC target; nothing tuned, as a go-control-plane user would run it.
	ctx := context.Background()
	logger := stderrLogger{debug: os.Getenv("GCP_DEBUG") != ""}
	// Envoy-profile nodes get full-state snapshots in ADS mode (ordered responses). In ADS mode
	// go-control-plane answers a by-name request only if it names every resource of the node's
	// snapshot (it expects per-node snapshots of exactly what the node uses), which a proxyless
	// gRPC client asking for 3 of S services never does: those nodes use a non-ADS-mode cache,
	// which answers with the requested subset. MuxCache routes by the node's kind.
	caches := map[string]cache.SnapshotCache{
		"envoy": cache.NewSnapshotCache(true, cache.IDHash{}, logger),
		"grpc":  cache.NewSnapshotCache(false, cache.IDHash{}, logger),
	}
	mux := &cache.MuxCache{
		Classify:      func(r *cache.Request) string { return kindOf(r.GetNode()) },
		ClassifyDelta: func(r *cache.DeltaRequest) string { return kindOf(r.GetNode()) },
		Caches:        map[string]cache.Cache{"envoy": caches["envoy"], "grpc": caches["grpc"]},
	}
	var current atomic.Pointer[map[string]*cache.Snapshot]
	empty := map[string]*cache.Snapshot{}
	current.Store(&empty)
	known := &nodes{kindOf: map[string]string{}}
	var streams atomic.Int64

	// First sight of a node: give it its kind's current snapshot before the cache opens its watch.
	register := func(node *core.Node) {
		if node == nil {
			return
		}
		known.mu.Lock()
		_, seen := known.kindOf[node.GetId()]
		kind := kindOf(node)
		known.kindOf[node.GetId()] = kind
		known.mu.Unlock()
		if !seen {
			if snap := (*current.Load())[kind]; snap != nil {
				_ = caches[kind].SetSnapshot(ctx, node.GetId(), snap)
			}
		}
	}
	forget := func(node *core.Node) {
		streams.Add(-1)
		if node == nil {
			return
		}
		known.mu.Lock()
		delete(known.kindOf, node.GetId())
		known.mu.Unlock()
		caches[kindOf(node)].ClearSnapshot(node.GetId())
	}
	callbacks := server.CallbackFuncs{
		StreamOpenFunc:      func(context.Context, int64, string) error { streams.Add(1); return nil },
		StreamClosedFunc:    func(_ int64, node *core.Node) { forget(node) },
		DeltaStreamOpenFunc: func(context.Context, int64, string) error { streams.Add(1); return nil },
		DeltaStreamClosedFunc: func(_ int64, node *core.Node) {
			forget(node)
		},
		StreamRequestFunc: func(_ int64, r *discovery.DiscoveryRequest) error {
			register(r.GetNode())
			return nil
		},
		StreamDeltaRequestFunc: func(_ int64, r *discovery.DeltaDiscoveryRequest) error {
			register(r.GetNode())
			return nil
		},
	}
	xds := server.NewServer(ctx, mux, callbacks)
	grpcServer := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
	discovery.RegisterAggregatedDiscoveryServiceServer(grpcServer, xds)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gcp: listen:", err)
		os.Exit(1)
	}
	go func() { _ = grpcServer.Serve(lis) }()
	reply(map[string]any{"cmd": "ready", "port": lis.Addr().(*net.TCPAddr).Port})

	var base map[string]*kindResources
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			fmt.Fprintln(os.Stderr, "gcp: bad command:", err)
			os.Exit(1)
		}
		switch c.Cmd {
		case "load":
			loaded, err := loadDump(c.File)
			if err != nil {
				reply(map[string]any{"cmd": "loaded", "error": err.Error()})
				continue
			}
			base = loaded
			next := map[string]*cache.Snapshot{}
			for kind, r := range base {
				next[kind] = r.snapshot("0")
			}
			current.Store(&next)
			publish(ctx, caches, known, next)
			counts := map[string]any{}
			for kind, r := range base {
				counts[kind] = r.count()
			}
			reply(map[string]any{"cmd": "loaded", "resources": counts})
		case "edit":
			// Timed by the runner from before it wrote this line: mutate, snapshot, SetSnapshot.
			next := map[string]*cache.Snapshot{}
			changed := 0
			for kind, r := range base {
				n, err := r.edit(c.Seq)
				if err != nil {
					reply(map[string]any{"cmd": "edited", "error": err.Error()})
					continue
				}
				changed += n
				next[kind] = r.snapshot(strconv.Itoa(c.Seq))
			}
			current.Store(&next)
			publish(ctx, caches, known, next)
			reply(map[string]any{"cmd": "edited", "routes": changed})
		case "stats":
			if c.GC {
				runtime.GC()
				debug.FreeOSMemory()
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			reply(map[string]any{
				"cmd": "stats",
				"cpu": map[string]any{"user": ru.Utime.Sec*1e6 + int64(ru.Utime.Usec), "system": ru.Stime.Sec*1e6 + int64(ru.Stime.Usec)},
				// Live heap plus goroutine stacks: what the streams hold (Node's heapUsed + external).
				"mem":     map[string]any{"heapUsed": m.HeapAlloc + m.StackInuse, "external": 0, "rss": rss()},
				"streams": streams.Load(),
			})
		case "stop":
			grpcServer.Stop()
			reply(map[string]any{"cmd": "stopped"})
			return
		default:
			fmt.Fprintln(os.Stderr, "gcp: unknown command", c.Cmd)
		}
	}
}

// publish sets each known node's snapshot (go-control-plane answers its open watches inside).
func publish(ctx context.Context, caches map[string]cache.SnapshotCache, known *nodes, next map[string]*cache.Snapshot) {
	known.mu.Lock()
	ids := make([]string, 0, len(known.kindOf))
	kinds := make([]string, 0, len(known.kindOf))
	for id, kind := range known.kindOf {
		ids = append(ids, id)
		kinds = append(kinds, kind)
	}
	known.mu.Unlock()
	for i, id := range ids {
		if snap := next[kinds[i]]; snap != nil {
			_ = caches[kinds[i]].SetSnapshot(ctx, id, snap)
		}
	}
}

// stderrLogger prints go-control-plane's warnings and errors (rare; they explain a stuck client), debug lines on request.
type stderrLogger struct{ debug bool }

func (l stderrLogger) Debugf(f string, a ...any) {
	if l.debug {
		fmt.Fprintf(os.Stderr, "gcp debug: "+f+"\n", a...)
	}
}
func (l stderrLogger) Infof(f string, a ...any) { l.Debugf(f, a...) }
func (stderrLogger) Warnf(f string, a ...any)   { fmt.Fprintf(os.Stderr, "gcp warn: "+f+"\n", a...) }
func (stderrLogger) Errorf(f string, a ...any)  { fmt.Fprintf(os.Stderr, "gcp error: "+f+"\n", a...) }

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
