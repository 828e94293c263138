package main

import (
	"context"
	"fmt"
	"os/exec"
)

func run(ctx context.Context, dir string) {
	// ruleid: go.exec-command-shell
	_ = exec.Command("sh", "-c", "ls -la "+dir).Run()
	// ruleid: go.exec-command-shell
	_ = exec.CommandContext(ctx, "/bin/bash", "-c", fmt.Sprintf("du -sh %s", dir)).Run()
	// ok: go.exec-command-shell
	_ = exec.Command("ls", "-la", dir).Run()
	// ok: go.exec-command-shell
	_ = exec.Command("sh", "-c", "echo ready").Run()
}
