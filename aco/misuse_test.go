package aco

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catch runs f and returns the message of the panic it raised ("" if none).
func catch(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			switch v := r.(type) {
			case string:
				msg = v
			case error:
				msg = v.Error()
			default:
				msg = "non-string panic"
			}
		}
	}()
	f()
	return ""
}

// healthy proves the package still works on e after a misuse: a coroutine is
// created, resumed through a yield to its end and destroyed.
func healthy(t *testing.T, e *env) {
	t.Helper()
	n := 0
	co := e.create(func(co *Co) {
		n++
		co.Yield()
		n++
	}, nil)
	co.Resume()
	co.Resume()
	require.True(t, co.IsEnd())
	require.Equal(t, 2, n)
	co.Destroy()
	if e.ss != nil {
		require.Nil(t, e.ss.Owner())
	}
}

// misuse is one way to get the API wrong. run returns the message of the
// panic; it gets a fresh env and cleans up what it made.
type misuse struct {
	name string
	want string // expected panic message prefix
	run  func(t *testing.T, e *env) string
}

var misuses = []misuse{
	{"resume ended co", "aco: Resume of an ended co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		co.Resume()
		defer co.Destroy()
		return catch(co.Resume)
	}},
	{"resume running co from inside", "aco: Resume of a running co", func(t *testing.T, e *env) string {
		var msg string
		co := e.create(func(co *Co) { msg = catch(co.Resume) }, nil)
		co.Resume()
		co.Destroy()
		return msg
	}},
	{"resume running co from another goroutine", "aco: Resume of a running co", func(t *testing.T, e *env) string {
		running, release := make(chan struct{}), make(chan struct{})
		co := e.create(func(co *Co) {
			close(running)
			<-release
		}, nil)
		done := make(chan struct{})
		go func() { defer close(done); co.Resume() }()
		<-running
		msg := catch(co.Resume) // a second goroutine, at the same time
		close(release)
		<-done
		co.Destroy()
		return msg
	}},
	{"resume main co", "aco: Resume of a main co", func(t *testing.T, e *env) string {
		return catch(e.main.Resume)
	}},
	{"resume destroyed co", "aco: Resume of a destroyed co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		co.Destroy()
		return catch(co.Resume)
	}},
	{"yield outside the co", "aco: Yield called outside the co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		msg := catch(co.Yield) // from the resumer, while co is suspended
		co.Destroy()
		return msg
	}},
	{"yield before start", "aco: Yield called outside the co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		defer co.Destroy()
		return catch(co.Yield)
	}},
	{"yield on main co", "aco: Yield on a main co", func(t *testing.T, e *env) string {
		return catch(e.main.Yield)
	}},
	{"exit outside the co", "aco: Exit called outside the co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		msg := catch(co.Exit)
		co.Destroy()
		return msg
	}},
	{"exit on main co", "aco: Exit on a main co", func(t *testing.T, e *env) string {
		return catch(e.main.Exit)
	}},
	{"destroy running co", "aco: Destroy of a running co", func(t *testing.T, e *env) string {
		var msg string
		co := e.create(func(co *Co) { msg = catch(co.Destroy) }, nil)
		co.Resume()
		co.Destroy()
		return msg
	}},
	{"destroy twice", "aco: Destroy of a destroyed co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		co.Destroy()
		return catch(co.Destroy)
	}},
	{"destroy main with live coroutines", "aco: Destroy of a main co that still has live coroutines", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		msg := catch(e.main.Destroy)
		co.Destroy()
		return msg
	}},
	{"destroy share stack with live coroutines", "aco: Destroy of a share stack that still has live coroutines", func(t *testing.T, e *env) string {
		ss := NewShareStack(0)
		co := Create(e.main, ss, 0, func(co *Co) {}, nil)
		msg := catch(ss.Destroy)
		co.Destroy()
		ss.Destroy()
		return msg
	}},
	{"busy share stack", "aco: Resume: share stack is busy", func(t *testing.T, e *env) string {
		ss := NewShareStack(0)
		other := Create(e.main, ss, 0, func(co *Co) {}, nil)
		var msg string
		co := Create(e.main, ss, 0, func(co *Co) { msg = catch(other.Resume) }, nil)
		co.Resume()
		other.Resume() // the share stack is free again
		require.True(t, other.IsEnd())
		co.Destroy()
		other.Destroy()
		ss.Destroy()
		return msg
	}},
	{"create with nil function", "aco: Create: nil function", func(t *testing.T, e *env) string {
		return catch(func() { e.create(nil, nil) })
	}},
	{"create with nil main", "aco: Create: main co is nil", func(t *testing.T, e *env) string {
		return catch(func() { Create(nil, e.ss, 0, func(*Co) {}, nil) })
	}},
	{"create with a non-main co as main", "aco: Create: main argument is not a main co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		defer co.Destroy()
		return catch(func() { Create(co, e.ss, 0, func(*Co) {}, nil) })
	}},
	{"create with negative save stack size", "aco: Create: negative save stack size", func(t *testing.T, e *env) string {
		return catch(func() { Create(e.main, e.ss, -1, func(*Co) {}, nil) })
	}},
	{"share stack with negative size", "aco: NewShareStack: negative size", func(t *testing.T, e *env) string {
		return catch(func() { NewShareStack(-4096) })
	}},
	{"reset with nil function", "aco: Reset: nil function", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		co.Resume()
		defer co.Destroy()
		return catch(func() { co.Reset(nil, nil) })
	}},
	{"reset of a suspended co", "aco: Reset of a co that has not ended", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		defer co.Destroy()
		return catch(func() { co.Reset(func(*Co) {}, nil) })
	}},
	{"reset of a destroyed co", "aco: Reset of a destroyed co", func(t *testing.T, e *env) string {
		co := e.create(func(co *Co) {}, nil)
		co.Destroy()
		return catch(func() { co.Reset(func(*Co) {}, nil) })
	}},
}

func TestMisuse(t *testing.T) {
	for _, m := range misuses {
		t.Run(m.name, func(t *testing.T) {
			forKinds(t, func(t *testing.T, e *env) {
				msg := m.run(t, e)
				assert.True(t, strings.HasPrefix(msg, m.want), "panic message %q, want prefix %q", msg, m.want)
				healthy(t, e)
			})
		})
	}
}
