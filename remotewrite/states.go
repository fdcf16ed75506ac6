package remotewrite

import "sync"

// retainBytes bounds what a kept state may hold in its body and decoded
// buffers; a state that grew past it (a rare huge request) goes to the
// sync.Pool, which the garbage collector empties.
const retainBytes = 16 << 20

// statePool keeps the per-request scratch space across requests. A
// sync.Pool alone is emptied by every other GC cycle, and a state it drops
// is rebuilt by growing every slice again (the write-path profile showed
// growslice at ~9 % of the CPU under steady load). So up to 2×GOMAXPROCS
// states (the requests that can run at once; more wait on the CPU anyway)
// are kept in a free list the GC leaves alone, the rest in a sync.Pool.
type statePool struct {
	free     chan *state
	overflow sync.Pool
}

func (p *statePool) init(procs int) {
	p.free = make(chan *state, 2*max(procs, 1))
	p.overflow.New = func() any { return &state{meta: map[string]Metadata{}} }
}

func (p *statePool) get() *state {
	select {
	case st := <-p.free:
		return st
	default:
		return p.overflow.Get().(*state)
	}
}

func (p *statePool) put(st *state) {
	if cap(st.body)+cap(st.decoded) <= retainBytes {
		select {
		case p.free <- st:
			return
		default:
		}
	}
	p.overflow.Put(st)
}
