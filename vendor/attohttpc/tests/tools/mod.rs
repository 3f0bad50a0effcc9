mod proxy;
mod servers;

pub use proxy::*;
pub use servers::*;
