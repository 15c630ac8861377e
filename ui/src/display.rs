/// True when a graphical display is available to this process: `DISPLAY` (X11) or `WAYLAND_DISPLAY` (Wayland) is
/// set and not empty. `corrigo run` opens the panel only then, and says why not otherwise.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}
