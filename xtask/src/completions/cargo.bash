
# `cargo xtask <TAB>`: the words after `xtask` go to the function above, as if the `xtask`
# binary had been typed; every other `cargo` command line goes to cargo's own completion (the one already
# registered, else rustup's or the system's file, loaded on first use).
_cargo_xtask_previous=$(complete -p cargo 2>/dev/null | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[[ $_cargo_xtask_previous == _cargo_xtask_cargo ]] && _cargo_xtask_previous=
_cargo_xtask_load_cargo() {
    local f
    for f in "$(rustc --print sysroot 2>/dev/null)/etc/bash_completion.d/cargo" \
        /usr/share/bash-completion/completions/cargo /etc/bash_completion.d/cargo; do
        if [[ -r $f && $f != "${BASH_SOURCE[0]}" ]] && ! grep -q _cargo_xtask_cargo "$f"; then
            source "$f"
            break
        fi
    done
    # cargo's file registers its own function for `cargo`: take the command back.
    complete -F _cargo_xtask_cargo -o bashdefault -o default cargo
}
_cargo_xtask_cargo() {
    if [[ ${COMP_WORDS[1]} == xtask ]] && ((COMP_CWORD >= 2)); then
        local COMP_WORDS=(xtask "${COMP_WORDS[@]:2}")
        local COMP_CWORD=$((COMP_CWORD - 1))
        _xtask xtask "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        return
    fi
    local previous=${_cargo_xtask_previous:-_cargo}
    if ! declare -F "$previous" >/dev/null; then
        _cargo_xtask_load_cargo
        previous=_cargo
    fi
    if declare -F "$previous" >/dev/null; then
        "$previous" "$@"
    elif ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W xtask -- "${COMP_WORDS[1]}"))
    fi
}
complete -F _cargo_xtask_cargo -o bashdefault -o default cargo
