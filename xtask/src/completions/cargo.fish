
# `cargo xtask <TAB>`: the words after `xtask` are completed as `xtask` (the binary) would be, next to
# fish's own completions for cargo.
function __fish_cargo_xtask_in_xtask
    set -l cmd (commandline -opc)
    test (count $cmd) -ge 2; and test "$cmd[2]" = xtask
end

function __fish_cargo_xtask_complete
    set -l cmd (commandline -opc)
    set -l line xtask (string escape -- $cmd[3..-1])
    set -l cur (commandline -ct)
    complete -C "$line $cur"
end

complete -c cargo -n __fish_use_subcommand -f -a xtask -d 'Build, deploy and verify the Todo chatbot (cargo xtask)'
complete -c cargo -n __fish_cargo_xtask_in_xtask -f -a '(__fish_cargo_xtask_complete)'
