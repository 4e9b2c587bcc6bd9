package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is one process the harness started (an agent or the register),
// with its output appended to a log file. Its methods are safe for
// concurrent use.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped

	mu     sync.Mutex
	paused bool
	err    error // Wait's result, valid after done
}

// startProc starts cmd with stdout and stderr appended to logPath. The
// process gets SIGKILL if the test process dies (Pdeathsig), so a killed
// test leaves no agents behind (`ip netns exec` keeps the setting across
// its exec).
func startProc(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "==== %s start %s: %v\n", time.Now().Format(time.RFC3339Nano), name, cmd.Args)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("chaos: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(log, "==== %s exit %s: %v\n", time.Now().Format(time.RFC3339Nano), name, err)
		_ = log.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process (not its group: only the agent itself).
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return errors.New("chaos: " + p.name + " has exited")
	}
	return syscall.Kill(p.pid(), sig)
}

// kill sends SIGKILL and waits until the process is reaped.
func (p *proc) kill() error {
	_ = p.signal(syscall.SIGKILL)
	return p.wait(10 * time.Second)
}

// pause stops the process (SIGSTOP) until resume.
func (p *proc) pause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	p.paused = true
	return nil
}

// resume continues a paused process (SIGCONT); harmless if not paused.
func (p *proc) resume() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
	if p.exited() {
		return nil
	}
	return p.signal(syscall.SIGCONT)
}

// term asks the process to stop cleanly (SIGTERM, and SIGCONT in case it is
// paused) and waits up to grace, then kills it. It reports whether the
// process stopped on its own.
func (p *proc) term(grace time.Duration) bool {
	_ = p.signal(syscall.SIGTERM)
	_ = p.resume()
	if p.wait(grace) == nil {
		return true
	}
	_ = p.kill()
	return false
}

// wait waits up to d for the process to be reaped.
func (p *proc) wait(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return fmt.Errorf("chaos: %s (pid %d) still running after %v", p.name, p.pid(), d)
	}
}
