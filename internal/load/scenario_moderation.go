package load

import (
	"fmt"
	"io"
)

// moderation will measure mutes, removals and bans under load once the server has the
// moderation commands. Until then it says so and measures nothing.
func moderation(stdout io.Writer) error {
	_, err := fmt.Fprintln(stdout, "moderation: not yet: needs the moderation commands (issue 4)")
	return err
}
