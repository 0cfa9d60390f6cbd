/*
 * The test kit: the development provider, a local stand-in for Mubarokah ID, so host apps can
 * test their guarded routes without the network. Never use it in production.
 */
export * from './dev-provider/index.js'
