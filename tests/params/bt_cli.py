# SPDX-License-Identifier: MIT
"""The babeltrace2 command line of the tests in this folder."""
import os
import re
import subprocess


def babeltrace2(plugin_dir):
    """The babeltrace2 command, with the sanitizer runtimes of a sanitizer-built plugin (CI's
    ASan build) preloaded, as tests/scale/run-scale.sh does."""
    plugin = os.path.join(plugin_dir, "babeltrace-plugin-vm.so")
    libraries = subprocess.run(["ldd", plugin], capture_output=True, text=True).stdout
    preload = ":".join(re.findall(r"=> (\S*lib(?:asan|ubsan)\.so\S*)", libraries))
    return ["env", f"LD_PRELOAD={preload}", "ASAN_OPTIONS=detect_leaks=0", "babeltrace2", "--omit-home-plugin-path",
            f"--plugin-path={plugin_dir}"]

