// The single translation unit that compiles Boost.Asio, Asio SSL and Boost.Beast.
//
// vigil_net defines BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION
// publicly, so every other file only sees declarations and this file provides the definitions
// once. Boost 1.74 needs all three sources: Asio's core (impl/src.hpp), Asio's OpenSSL glue
// (ssl/impl/src.hpp, which is not part of impl/src.hpp) and Beast (src.hpp; its SSL parts are
// header-only). Nothing else belongs here.

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
