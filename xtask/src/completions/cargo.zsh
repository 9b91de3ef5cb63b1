    # `cargo xtask <TAB>`: cargo's own completion (`_cargo`) hands the words after `cargo` to
    # `_cargo-xtask`; without it, this completes `xtask` and hands the rest over the same way.
    _cargo-xtask() { _xtask "$@" }
    _cargo_xtask_cargo() {
        if (( CURRENT > 2 )) && [[ ${words[2]} == xtask ]]; then
            shift words
            (( CURRENT-- ))
            _xtask "$@"
        elif (( CURRENT == 2 )); then
            compadd -- xtask
        fi
    }
    (( $+_comps[cargo] )) || compdef _cargo_xtask_cargo cargo
