package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// Resource types the dump holds, registered for anypb.UnmarshalNew.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
)

// What the bench's edit changes (bench/xds/config-gen.ts): svc-0's `edit` route, whose
// backend's cluster is svc-0-v1, matches on this header.
const (
	editedCluster = "svc-0-v1"
	editHeader    = "x-bench-edit"
)

// dumpEntry is one resource as Tether serves it: its name and its google.protobuf.Any bytes.
type dumpEntry struct {
	Name string `json:"name"`
	Any  []byte `json:"any"`
}

// kindResources is one node kind's resources. Types an edit does not touch keep one
// cache.Resources (and version) for good; route configurations are rebuilt per edit.
type kindResources struct {
	fixed  map[types.ResponseType]cache.Resources
	routes []*route.RouteConfiguration
	// shells[i]: routes[i] without its virtual hosts (cloned once, never served).
	shells []*route.RouteConfiguration
}

var typeOrder = []struct {
	url string
	typ types.ResponseType
}{
	{resource.ListenerType, types.Listener},
	{resource.RouteType, types.Route},
	{resource.ClusterType, types.Cluster},
	{resource.EndpointType, types.Endpoint},
}

func loadDump(file string) (map[string]*kindResources, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var dump map[string]map[string][]dumpEntry
	if err := json.Unmarshal(raw, &dump); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := map[string]*kindResources{}
	for kind, byType := range dump {
		k := &kindResources{fixed: map[types.ResponseType]cache.Resources{}}
		for _, t := range typeOrder {
			items := make([]types.Resource, 0, len(byType[t.url]))
			for _, e := range byType[t.url] {
				var a anypb.Any
				if err := proto.Unmarshal(e.Any, &a); err != nil {
					return nil, fmt.Errorf("%s %s %s: %w", kind, t.url, e.Name, err)
				}
				if a.GetTypeUrl() != t.url {
					return nil, fmt.Errorf("%s %s: Any of %s", kind, e.Name, a.GetTypeUrl())
				}
				m, err := anypb.UnmarshalNew(&a, proto.UnmarshalOptions{})
				if err != nil {
					return nil, fmt.Errorf("%s %s %s: %w", kind, t.url, e.Name, err)
				}
				if cache.GetResourceName(m) != e.Name {
					return nil, fmt.Errorf("%s %s: decoded name %q", kind, e.Name, cache.GetResourceName(m))
				}
				items = append(items, m)
			}
			if t.typ == types.Route {
				for _, m := range items {
					rc := m.(*route.RouteConfiguration)
					k.routes = append(k.routes, rc)
					hosts := rc.VirtualHosts
					rc.VirtualHosts = nil
					k.shells = append(k.shells, proto.Clone(rc).(*route.RouteConfiguration))
					rc.VirtualHosts = hosts
				}
			} else {
				k.fixed[t.typ] = cache.NewResources("0", items)
			}
		}
		out[kind] = k
	}
	return out, nil
}

func (k *kindResources) count() map[string]int {
	c := map[string]int{"RDS": len(k.routes)}
	for _, t := range typeOrder {
		if r, ok := k.fixed[t.typ]; ok {
			c[t.url] = len(r.Items)
		}
	}
	return c
}

// snapshot: the fixed types at version "0", routes at `version` (so only RDS is re-sent).
func (k *kindResources) snapshot(version string) *cache.Snapshot {
	s := &cache.Snapshot{}
	for t, r := range k.fixed {
		s.Resources[t] = r
	}
	items := make([]types.Resource, len(k.routes))
	for i, r := range k.routes {
		items[i] = r
	}
	s.Resources[types.Route] = cache.NewResources(version, items)
	return s
}

// edit points svc-0's edit route at header value e<seq>. Served messages are never mutated: a
// changed route configuration is a new message sharing its unchanged virtual hosts.
func (k *kindResources) edit(seq int) (int, error) {
	changed := 0
	for i, rc := range k.routes {
		var hosts []*route.VirtualHost
		for j, vh := range rc.GetVirtualHosts() {
			at := editedRoute(vh)
			if at < 0 {
				continue
			}
			if hosts == nil {
				hosts = append([]*route.VirtualHost(nil), rc.GetVirtualHosts()...)
			}
			nvh := proto.Clone(vh).(*route.VirtualHost)
			for _, h := range nvh.GetRoutes()[at].GetMatch().GetHeaders() {
				if h.GetName() == editHeader {
					h.HeaderMatchSpecifier = &route.HeaderMatcher_StringMatch{
						StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: "e" + strconv.Itoa(seq)}},
					}
				}
			}
			hosts[j] = nvh
			changed++
		}
		if hosts != nil {
			next := proto.Clone(k.shells[i]).(*route.RouteConfiguration)
			next.VirtualHosts = hosts
			k.routes[i] = next
		}
	}
	if changed == 0 {
		return 0, fmt.Errorf("no route of cluster %s matches on %s", editedCluster, editHeader)
	}
	return changed, nil
}

// editedRoute: the index of the route in vh that sends to editedCluster and matches on editHeader, or -1.
func editedRoute(vh *route.VirtualHost) int {
	for i, r := range vh.GetRoutes() {
		if !sendsTo(r.GetRoute(), editedCluster) {
			continue
		}
		for _, h := range r.GetMatch().GetHeaders() {
			if h.GetName() == editHeader {
				return i
			}
		}
	}
	return -1
}

func sendsTo(a *route.RouteAction, cluster string) bool {
	if a.GetCluster() == cluster {
		return true
	}
	for _, w := range a.GetWeightedClusters().GetClusters() {
		if w.GetName() == cluster {
			return true
		}
	}
	return false
}
