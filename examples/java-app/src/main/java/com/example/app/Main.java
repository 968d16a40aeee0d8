package com.example.app;

/** `java -jar java-app.jar [name]` prints a greeting. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.out.println(new Greeter("Hello").greet(args.length > 0 ? args[0] : null));
    }
}
