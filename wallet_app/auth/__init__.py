"""Sign-in, sign-out and roles for console operators."""
