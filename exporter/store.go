package exporter

import (
	"hash/maphash"
	"io"
	"sort"
	"sync"

	"github.com/kubetopo/kubetopo/topology"
)

// Store holds the topology as pre-rendered exposition lines. Each source
// object (an "owner": a pod, a service's selector match, ...) contributes
// components and relations through Update and takes them back through Delete;
// a component several owners contribute (a host path two pods mount) lives
// until the last of them lets go. A relation is rendered only while both of
// its ends exist as components, so no relation ever dangles.
//
// Store is safe for concurrent use: many renders, one writer at a time.
type Store struct {
	cluster string
	filter  *LabelFilter

	mu     sync.RWMutex
	owners map[string]*ownerEntry
	comps  map[string]*compEntry
	// rels indexes relations by the hash of their key (see relEntry).
	rels map[uint64]*relEntry
	hash func(relKey) uint64 // tests make every key collide

	// writeBufs holds the 64 KiB buffers WriteTo batches its writes in.
	writeBufs sync.Pool
	// types and typeIDs intern relation and component type names: types[i]
	// is the i-th name escaped as a label value.
	types     []string
	typeNames []string
	typeIDs   map[string]uint16
	// compList and relList hold the live entries in a dense slice, so that a
	// render walks memory in order instead of iterating maps.
	compList []*compEntry
	relList  []*relEntry
}

type ownerEntry struct {
	comps []*compEntry
	rels  []*relEntry
}

type contribution struct {
	owner        string
	typ          string
	info, labels []byte
}

type compEntry struct {
	urn string
	// urnLabel is urn escaped as a label value (the same string unless urn
	// holds a backslash, quote or newline): relations render it at scrape time.
	urnLabel string
	contribs []contribution // sorted by owner: the first one is rendered
	refs     int            // relations that name this component as an end
	idx      int            // position in compList, -1 while not live
}

func (c *compEntry) live() bool { return len(c.contribs) > 0 }

// relKey identifies a relation: two relations that render alike are one.
// Its ends are the components' entries, so a relation costs two pointers
// instead of two copies of the URNs.
type relKey struct {
	src, tgt *compEntry
	typ      string
	// attrs is the relation's attribute labels, pre-rendered
	// (`,mount_path="/etc/x",read_only="true"`); empty for most relations.
	attrs string
}

// relEntry is a relation. Its line is not kept: it is rendered from the two
// ends' URNs while writing, which costs a few copies per scrape and saves
// most of the store's memory (relations outnumber components four to one).
// Types are indices into the store's table of label values; entries whose
// keys hash alike are chained through next.
type relEntry struct {
	src, tgt *compEntry
	attrs    string
	next     *relEntry
	owners   int32
	idx      int32 // position in relList
	typ      uint16
	srcType  uint16
	tgtType  uint16
}

func (e *relEntry) is(s *Store, k *relKey) bool {
	return e.src == k.src && e.tgt == k.tgt && e.attrs == k.attrs && s.typeNames[e.typ] == k.typ
}

// NewStore returns an empty store for the named cluster; filter may be nil.
func NewStore(cluster string, filter *LabelFilter) *Store {
	s := &Store{
		cluster: cluster, filter: filter,
		owners: map[string]*ownerEntry{}, comps: map[string]*compEntry{}, rels: map[uint64]*relEntry{},
		typeIDs: map[string]uint16{},
	}
	seed := maphash.MakeSeed()
	s.hash = func(k relKey) uint64 { return maphash.Comparable(seed, k) }
	return s
}

// Update replaces everything owner contributed with res.
func (s *Store) Update(owner string, res topology.Result) {
	// Render outside the lock: it is the expensive part.
	type rendered struct {
		urn string
		c   contribution
	}
	comps := make([]rendered, 0, len(res.Components))
	seenComp := make(map[string]int, len(res.Components))
	for i := range res.Components {
		c := &res.Components[i]
		r := rendered{urn: c.URN, c: contribution{
			owner: owner, typ: c.Type,
			info:   renderComponentInfo(s.cluster, c),
			labels: renderComponentLabels(s.cluster, c, s.filter),
		}}
		if j, dup := seenComp[c.URN]; dup {
			comps[j] = r
			continue
		}
		seenComp[c.URN] = len(comps)
		comps = append(comps, r)
	}
	attrs := make([]string, len(res.Relations))
	for i := range res.Relations {
		attrs[i] = renderAttrs(res.Relations[i].Attrs)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.owners[owner]
	next := &ownerEntry{comps: make([]*compEntry, 0, len(comps)), rels: make([]*relEntry, 0, len(res.Relations))}

	for _, r := range comps {
		e := s.comp(r.urn)
		e.setContribution(r.c)
		s.relist(e)
		next.comps = append(next.comps, e)
	}
	seenRel := make(map[*relEntry]bool, len(res.Relations))
	for i := range res.Relations {
		r := &res.Relations[i]
		k := relKey{src: s.comp(r.Source), tgt: s.comp(r.Target), typ: r.Type, attrs: attrs[i]}
		h := s.hash(k)
		e := s.rels[h]
		for e != nil && !e.is(s, &k) {
			e = e.next
		}
		if e == nil {
			e = &relEntry{
				src: k.src, tgt: k.tgt, attrs: k.attrs, next: s.rels[h], idx: int32(len(s.relList)),
				typ: s.typeID(r.Type), srcType: s.typeID(r.SourceType), tgtType: s.typeID(r.TargetType),
			}
			k.src.refs++
			k.tgt.refs++
			s.rels[h] = e
			s.relList = append(s.relList, e)
		}
		if seenRel[e] {
			continue
		}
		seenRel[e] = true
		if old == nil || !containsRel(old.rels, e) {
			e.owners++
		}
		next.rels = append(next.rels, e)
	}
	if old != nil {
		for _, e := range old.comps {
			if _, kept := seenComp[e.urn]; !kept {
				s.dropContribution(e, owner)
			}
		}
		for _, e := range old.rels {
			if !seenRel[e] {
				s.releaseRel(e)
			}
		}
	}
	if len(next.comps) == 0 && len(next.rels) == 0 {
		delete(s.owners, owner)
		return
	}
	s.owners[owner] = next
}

// Delete takes back everything owner contributed. Deleting an unknown owner
// does nothing.
func (s *Store) Delete(owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.owners[owner]
	if old == nil {
		return
	}
	delete(s.owners, owner)
	for _, e := range old.comps {
		s.dropContribution(e, owner)
	}
	for _, e := range old.rels {
		s.releaseRel(e)
	}
}

func containsRel(list []*relEntry, e *relEntry) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// comp returns the entry for urn, creating a placeholder that is not live.
func (s *Store) comp(urn string) *compEntry {
	e := s.comps[urn]
	if e == nil {
		e = &compEntry{urn: urn, urnLabel: labelValue(urn), idx: -1}
		s.comps[urn] = e
	}
	return e
}

func (e *compEntry) setContribution(c contribution) {
	i := sort.Search(len(e.contribs), func(i int) bool { return e.contribs[i].owner >= c.owner })
	if i < len(e.contribs) && e.contribs[i].owner == c.owner {
		e.contribs[i] = c
		return
	}
	e.contribs = append(e.contribs, contribution{})
	copy(e.contribs[i+1:], e.contribs[i:])
	e.contribs[i] = c
}

func (s *Store) dropContribution(e *compEntry, owner string) {
	for i := range e.contribs {
		if e.contribs[i].owner == owner {
			e.contribs = append(e.contribs[:i], e.contribs[i+1:]...)
			break
		}
	}
	s.relist(e)
	s.forgetComp(e)
}

// relist puts a component into compList when it became live and takes it out
// when it stopped being live.
func (s *Store) relist(e *compEntry) {
	switch {
	case e.live() && e.idx < 0:
		e.idx = len(s.compList)
		s.compList = append(s.compList, e)
	case !e.live() && e.idx >= 0:
		last := s.compList[len(s.compList)-1]
		s.compList[e.idx] = last
		last.idx = e.idx
		s.compList = s.compList[:len(s.compList)-1]
		e.idx = -1
	}
}

func (s *Store) forgetComp(e *compEntry) {
	if !e.live() && e.refs == 0 {
		delete(s.comps, e.urn)
	}
}

func (s *Store) releaseRel(e *relEntry) {
	e.owners--
	if e.owners > 0 {
		return
	}
	h := s.hash(relKey{src: e.src, tgt: e.tgt, typ: s.typeNames[e.typ], attrs: e.attrs})
	if head := s.rels[h]; head == e {
		if e.next == nil {
			delete(s.rels, h)
		} else {
			s.rels[h] = e.next
		}
	} else {
		for p := head; p != nil; p = p.next {
			if p.next == e {
				p.next = e.next
				break
			}
		}
	}
	e.next = nil
	last := s.relList[len(s.relList)-1]
	s.relList[e.idx] = last
	last.idx = e.idx
	s.relList = s.relList[:len(s.relList)-1]
	e.src.refs--
	e.tgt.refs--
	s.forgetComp(e.src)
	s.forgetComp(e.tgt)
}

// typeID interns a type name. There are a few dozen of them; past 65535
// distinct names (a bug elsewhere) the store panics rather than mix them up.
func (s *Store) typeID(name string) uint16 {
	if id, ok := s.typeIDs[name]; ok {
		return id
	}
	if len(s.types) > 0xffff {
		panic("exporter: more than 65536 distinct type names")
	}
	id := uint16(len(s.types))
	s.types = append(s.types, labelValue(name))
	s.typeNames = append(s.typeNames, name)
	s.typeIDs[name] = id
	return id
}

// WriteTo writes the three topology metric families in the Prometheus text
// format.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	bp, _ := s.writeBufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 64<<10)
		bp = &b
	}
	defer s.writeBufs.Put(bp)
	bw := &countingWriter{w: w, buf: (*bp)[:0]}
	defer func() { *bp = bw.buf[:0] }()
	bw.buf = header(bw.buf, families[0].name, families[0].help)
	for _, e := range s.compList {
		bw.write(e.contribs[0].info)
	}
	bw.buf = header(bw.buf, families[1].name, families[1].help)
	for _, e := range s.compList {
		bw.write(e.contribs[0].labels)
	}
	bw.buf = header(bw.buf, families[2].name, families[2].help)
	cluster := labelValue(s.cluster)
	for _, e := range s.relList {
		if e.src.live() && e.tgt.live() {
			bw.relation(cluster, s.types, e)
		}
	}
	bw.flush()
	return bw.n, bw.err
}

// countingWriter batches small writes into 64 KiB ones.
type countingWriter struct {
	w   io.Writer
	buf []byte
	n   int64
	err error
}

func (c *countingWriter) write(p []byte) {
	if len(c.buf)+len(p) > cap(c.buf) {
		c.flush()
	}
	c.buf = append(c.buf, p...)
}

func (c *countingWriter) flush() {
	if c.err == nil && len(c.buf) > 0 {
		var n int
		n, c.err = c.w.Write(c.buf)
		c.n += int64(n)
	}
	c.buf = c.buf[:0]
}

// relation appends e's line, as renderRelation would render it.
func (c *countingWriter) relation(cluster string, types []string, e *relEntry) {
	typ, srcType, tgtType := types[e.typ], types[e.srcType], types[e.tgtType]
	n := len(RelationInfo) + 90 + len(cluster) + len(typ) + len(e.src.urnLabel) + len(e.tgt.urnLabel) +
		len(srcType) + len(tgtType) + len(e.attrs)
	if len(c.buf)+n > cap(c.buf) {
		c.flush()
		if n > cap(c.buf) {
			c.buf = make([]byte, 0, n)
		}
	}
	b := append(c.buf, RelationInfo...)
	b = append(b, `{cluster="`...)
	b = append(b, cluster...)
	b = append(b, `",type="`...)
	b = append(b, typ...)
	b = append(b, `",source_urn="`...)
	b = append(b, e.src.urnLabel...)
	b = append(b, `",target_urn="`...)
	b = append(b, e.tgt.urnLabel...)
	b = append(b, `",source_type="`...)
	b = append(b, srcType...)
	b = append(b, `",target_type="`...)
	b = append(b, tgtType...)
	b = append(b, '"')
	b = append(b, e.attrs...)
	c.buf = append(b, "} 1\n"...)
}

// Counts returns the number of live components by type and of published
// relations by type.
func (s *Store) Counts() (components, relations map[string]int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	components, relations = map[string]int{}, map[string]int{}
	for _, e := range s.compList {
		components[e.contribs[0].typ]++
	}
	for _, e := range s.relList {
		if e.src.live() && e.tgt.live() {
			relations[s.typeNames[e.typ]]++
		}
	}
	return components, relations
}
