public enum ModellingPlaceholder {}
